package io.sparkgate.agent;

import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.scheduler.JobSucceeded$;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.StageInfo;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Completed and total tasks of the Spark jobs of watched job groups, from the listener bus.
 *
 * <p>Registered once on the SparkContext. Listener callbacks only update counters (they run on
 * Spark's listener-bus thread and must not block); whoever reports progress polls
 * {@link #snapshot}. Only groups between {@link #watch} and {@link #forget} are counted, so memory
 * stays bounded by the running statement's jobs.
 *
 * <p>A job's total is the task count of all its stages as planned at job start. Stages skipped
 * because their output already exists never run; when the job succeeds its count is set to its
 * total so that the statement still reaches 100%.
 */
final class JobGroupProgress extends SparkListener {
  static final String JOB_GROUP_PROPERTY = "spark.jobGroup.id";

  /** Tasks completed and total, summed over a group's jobs. */
  record Snapshot(int completedTasks, int totalTasks) {}

  private final Map<String, Group> groups = new ConcurrentHashMap<>();
  private final Map<Integer, Job> jobsById = new ConcurrentHashMap<>();
  private final Map<Integer, Job> jobsByStage = new ConcurrentHashMap<>();

  /** Starts counting the jobs of {@code groupId}. */
  void watch(String groupId) {
    groups.put(groupId, new Group());
  }

  /** Stops counting {@code groupId} and drops what was known about its jobs. */
  void forget(String groupId) {
    Group group = groups.remove(groupId);
    if (group != null) {
      for (Job job : group.jobs.values()) {
        jobsById.remove(job.id);
        for (int stageId : job.stageIds) {
          jobsByStage.remove(stageId, job);
        }
      }
    }
  }

  /** Current counts of a watched group (zero when unknown). */
  Snapshot snapshot(String groupId) {
    Group group = groups.get(groupId);
    if (group == null) {
      return new Snapshot(0, 0);
    }
    int completed = 0;
    int total = 0;
    for (Job job : group.jobs.values()) {
      completed += Math.min(job.completed.get(), job.total);
      total += job.total;
    }
    return new Snapshot(completed, total);
  }

  /** Whether a job of the watched group has started and not ended (as far as the listener bus has told). */
  boolean hasRunningJobs(String groupId) {
    Group group = groups.get(groupId);
    if (group != null) {
      for (Job job : group.jobs.values()) {
        if (!job.ended) {
          return true;
        }
      }
    }
    return false;
  }

  @Override
  public void onJobStart(SparkListenerJobStart jobStart) {
    Properties properties = jobStart.properties();
    String groupId = properties == null ? null : properties.getProperty(JOB_GROUP_PROPERTY);
    Group group = groupId == null ? null : groups.get(groupId);
    if (group == null) {
      return;
    }
    var stages = CollectionConverters.asJava(jobStart.stageInfos());
    int total = 0;
    int[] stageIds = new int[stages.size()];
    for (int i = 0; i < stageIds.length; i++) {
      StageInfo stage = stages.get(i);
      stageIds[i] = stage.stageId();
      total += stage.numTasks();
    }
    Job job = new Job(jobStart.jobId(), stageIds, total);
    group.jobs.put(job.id, job);
    jobsById.put(job.id, job);
    for (int stageId : stageIds) {
      jobsByStage.put(stageId, job);
    }
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd taskEnd) {
    Job job = jobsByStage.get(taskEnd.stageId());
    if (job != null && taskEnd.taskInfo() != null && taskEnd.taskInfo().successful()) {
      job.completed.incrementAndGet();
    }
  }

  @Override
  public void onJobEnd(SparkListenerJobEnd jobEnd) {
    Job job = jobsById.remove(jobEnd.jobId());
    if (job == null) {
      return;
    }
    job.ended = true;
    if (jobEnd.jobResult() == JobSucceeded$.MODULE$) {
      job.completed.set(job.total);
    }
    for (int stageId : job.stageIds) {
      jobsByStage.remove(stageId, job);
    }
  }

  private static final class Group {
    final Map<Integer, Job> jobs = new ConcurrentHashMap<>();
  }

  private static final class Job {
    final int id;
    final int[] stageIds;
    final int total;
    final AtomicInteger completed = new AtomicInteger();
    volatile boolean ended;

    Job(int id, int[] stageIds, int total) {
      this.id = id;
      this.stageIds = stageIds;
      this.total = total;
    }
  }
}
