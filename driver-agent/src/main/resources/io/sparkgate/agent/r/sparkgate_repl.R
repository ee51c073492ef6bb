# Sparkgate's R REPL: the child process behind a session's `sparkr` statements.
#
# The driver agent (io.sparkgate.agent.interp.RInterpreter) runs this program with Rscript. When the
# agent has started SparkR's backend in the driver JVM, the program attaches to it as the sparkR
# shell attaches to an existing backend (EXISTING_SPARKR_BACKEND_PORT, SPARKR_BACKEND_AUTH_SECRET,
# SPARKR_BACKEND_CONNECTION_TIMEOUT), loads SparkR from SPARKR_PACKAGE_DIR and makes the driver's
# own SparkSession the one `sparkR.session()` returns; `spark`, `sc` and `sqlContext` are defined as
# in the sparkR shell and Apache Livy. Without SPARKR_PACKAGE_DIR it is a plain R REPL.
#
# Statements run with the R console's semantics: each top-level expression is evaluated in the
# global environment and its value auto-printed when visible (print, or show for S4 objects);
# deferred warnings are printed after each top-level expression, as the console prints them.
#
# Channel: one loopback TCP connection to the agent (SPARKGATE_R_HOST, SPARKGATE_R_PORT), opened
# with the secret SPARKGATE_R_SECRET. Each message is a frame: a 4-byte big-endian length, then
# that many bytes of fields; a field is a 4-byte big-endian length then that many UTF-8 bytes. The
# first field names the message:
#
#   child -> agent   hello SECRET PROTOCOL PID
#                    ready R_VERSION SPARKR_VERSION
#                    init_error MESSAGE TRACEBACK...
#                    result ID ok
#                    result ID error ENAME EVALUE TRACEBACK...
#                    result ID interrupted
#                    completions ID CANDIDATE...
#   agent -> child   init MARKER MAX_RESULT_BYTES
#                    execute ID CODE [KEY VALUE]...   (Spark local properties; "" clears)
#                    complete ID LINE CURSOR          (cursor in characters of LINE)
#                    shutdown
#
# What a statement prints goes to the process's own stdout and stderr, which the agent streams as
# the statement's output. When the statement ends, the program writes MARKER to both streams (past
# any sink() the user set), then sends its result: the agent knows the output is complete once it
# has seen both markers and the result.
#
# Interrupts (SIGINT from the agent) are suspended everywhere but in user code; an interrupt that
# arrives after its statement ended is discarded before the next statement starts. Only base R is
# used (plus utils for completion and SparkR when attached).

local({
  PROTOCOL_VERSION <- "1"
  READ_CHUNK_BYTES <- 65536L
  MAX_COMPLETIONS <- 1000L
  MAX_TRACEBACK_FRAMES <- 100L
  MAX_CALL_CHARS <- 1000L
  MAX_WARNINGS <- 50L
  # The call R reports for a condition raised directly by a top-level expression.
  TOP_LEVEL_CALL <- quote(eval(expr, envir = .GlobalEnv))

  con <- NULL
  inbox <- list()          # raw chunks received and not yet consumed
  inbox_bytes <- 0L
  marker <- NULL
  max_result_bytes <- 1048576L
  sparkr <- NULL           # when attached: list(port, secret, timeout, jsc)

  # ------------------------------------------------------------------ framing

  be_int <- function(n) writeBin(as.integer(n), raw(), size = 4L, endian = "big")
  read_be_int <- function(bytes) readBin(bytes, "integer", size = 4L, endian = "big")

  encode_frame <- function(fields) {
    fields <- as.character(fields)
    fields[is.na(fields)] <- "NA"
    parts <- lapply(fields, function(f) {
      bytes <- charToRaw(enc2utf8(f))
      c(be_int(length(bytes)), bytes)
    })
    body <- if (length(parts)) do.call(c, parts) else raw()
    c(be_int(length(body)), body)
  }

  decode_fields <- function(body) {
    fields <- character()
    i <- 1L
    n <- length(body)
    while (i + 3L <= n) {
      len <- read_be_int(body[i:(i + 3L)])
      i <- i + 4L
      field <- if (len > 0L) rawToChar(body[i:(i + len - 1L)]) else ""
      Encoding(field) <- "UTF-8"
      fields <- c(fields, field)
      i <- i + len
    }
    fields
  }

  send <- function(...) {
    frame <- encode_frame(c(...))
    # A socket write can wait for room, and such a wait is interruptible even with interrupts
    # suspended: a frame cut short would corrupt the channel, so the program gives up instead.
    ok <- tryCatch({ writeBin(frame, con); flush(con); TRUE },
                   interrupt = function(c) FALSE, error = function(e) FALSE)
    if (!ok) {
      cat("sparkgate R REPL: the channel to the agent broke while sending; exiting\n", file = stderr())
      quit(save = "no", status = 3L, runLast = FALSE)
    }
  }

  take_bytes <- function(n) {
    all <- if (length(inbox) == 1L) inbox[[1L]] else do.call(c, inbox)
    taken <- all[seq_len(n)]
    rest <- if (n < length(all)) all[(n + 1L):length(all)] else raw()
    inbox <<- if (length(rest)) list(rest) else list()
    inbox_bytes <<- length(rest)
    taken
  }

  # The next complete frame from what has arrived, or NULL.
  take_frame <- function() {
    if (inbox_bytes < 4L) return(NULL)
    head <- take_bytes(4L)
    len <- read_be_int(head)
    if (inbox_bytes < len) {
      inbox <<- c(list(head), inbox)
      inbox_bytes <<- inbox_bytes + 4L
      return(NULL)
    }
    decode_fields(take_bytes(len))
  }

  # Waits for the next message; NULL when the agent closed the channel. The socket is non-blocking
  # and waits happen in socketSelect, so an interrupt can only cut a wait short, never a read.
  next_message <- function() {
    empty_reads <- 0L
    repeat {
      message <- take_frame()
      if (!is.null(message)) return(message)
      ready <- tryCatch(socketSelect(list(con), timeout = 3600),
                        interrupt = function(c) FALSE)
      if (!isTRUE(ready)) next
      chunk <- readBin(con, "raw", READ_CHUNK_BYTES)
      if (length(chunk) == 0L) {
        # Readable but empty means end of stream; tolerate a spurious wake-up or two.
        empty_reads <- empty_reads + 1L
        if (empty_reads >= 3L) return(NULL)
        next
      }
      empty_reads <- 0L
      inbox[[length(inbox) + 1L]] <<- chunk
      inbox_bytes <<- inbox_bytes + length(chunk)
    }
  }

  # ------------------------------------------------------------------ output and results

  cut_bytes <- function(text, limit) {
    text <- enc2utf8(text)
    if (nchar(text, type = "bytes") <= limit) return(text)
    chars <- max(0L, limit %/% 4L)
    paste0(substr(text, 1L, chars), " [cut]")
  }

  one_line_call <- function(call) {
    text <- paste(deparse(call, width.cutoff = 500L, nlines = 2L), collapse = " ")
    if (nchar(text) > MAX_CALL_CHARS) text <- paste0(substr(text, 1L, MAX_CALL_CHARS), " ...")
    text
  }

  # Ends the statement's output: the marker on the real stdout and stderr, whatever sink is set.
  end_of_output <- function() {
    out <- getConnection(1L)
    err <- getConnection(2L)
    tryCatch(flush(out), error = function(e) NULL)
    cat(marker, file = out)
    flush(out)
    cat(marker, file = err)
    flush(err)
  }

  # ------------------------------------------------------------------ statements

  # Evaluates one top-level expression as the console does; its frames are how tracebacks find
  # where user code starts.
  run_user <- function(expr) {
    shown <- withVisible(eval(expr, envir = .GlobalEnv))
    set_last_value(shown$value)
    if (shown$visible) print_value(shown$value)
    invisible(NULL)
  }

  set_last_value <- function(value) {
    tryCatch({
      unlockBinding(".Last.value", baseenv())
      assign(".Last.value", value, envir = baseenv())
      lockBinding(".Last.value", baseenv())
    }, error = function(e) NULL)
  }

  # As the console: print() (or show() for S4 objects) called from the global environment, so that
  # print methods the user defined are found.
  print_value <- function(value) {
    env <- new.env(parent = globalenv())
    assign("x", value, envir = env)
    if (isS4(value)) eval(quote(methods::show(x)), env) else eval(quote(print(x)), env)
  }

  # The user's frames at an error, innermost first, numbered as traceback() numbers them.
  user_traceback <- function(calls, functions) {
    n <- length(calls)
    if (n == 0L) return(character())
    start <- 0L
    for (i in rev(seq_len(n))) {
      if (identical(functions[[i]], run_user)) { start <- i; break }
    }
    if (start == 0L) return(character())
    # run_user's eval: the closure's frame and the frame .Internal(eval()) opens carry one call.
    i <- start + 1L
    while (i <= n && !identical(functions[[i]], base::eval)) i <- i + 1L
    if (i > n) return(character())
    eval_call <- calls[[i]]
    while (i <= n && identical(calls[[i]], eval_call)) i <- i + 1L
    end <- n
    if (end >= i && identical(functions[[end]], base:::.handleSimpleError)) end <- end - 1L
    if (end < i) return(character())
    frames <- calls[i:end]
    if (length(frames) > MAX_TRACEBACK_FRAMES) frames <- frames[seq_len(MAX_TRACEBACK_FRAMES)]
    texts <- vapply(frames, one_line_call, "")
    numbered <- paste0(seq_along(texts), ": ", texts, "\n")
    rev(numbered)
  }

  format_warning <- function(w) {
    call <- conditionCall(w)
    text <- conditionMessage(w)
    if (is.null(call) || identical(call, TOP_LEVEL_CALL)) text
    else paste0("In ", one_line_call(call), " : ", text)
  }

  show_warnings <- function(warnings) {
    if (length(warnings) == 0L) return(invisible())
    texts <- vapply(warnings, format_warning, "")
    if (length(texts) == 1L) {
      cat("Warning message:\n", texts, "\n", sep = "", file = stderr())
    } else {
      cat("Warning messages:\n", paste0(seq_along(texts), ": ", texts, "\n", collapse = ""),
          sep = "", file = stderr())
    }
  }

  # One top-level expression: NULL when it succeeded, else the error result's fields.
  eval_top <- function(expr) {
    trace <- character()
    warnings <- list()
    on.exit(show_warnings(warnings))
    tryCatch(
      withCallingHandlers({
        allowInterrupts(run_user(expr))
        NULL
      },
      warning = function(w) {
        level <- suppressWarnings(as.integer(getOption("warn", 0L))[1L])
        if (is.na(level)) level <- 0L
        # At 1 R prints the warning at once, at 2 or more it becomes an error: its own handler.
        if (level <= 0L) {
          if (level == 0L && length(warnings) < MAX_WARNINGS) warnings[[length(warnings) + 1L]] <<- w
          invokeRestart("muffleWarning")
        }
      },
      error = function(e) {
        n <- sys.nframe() - 1L  # without this handler's own frame
        trace <<- user_traceback(sys.calls()[seq_len(n)], lapply(seq_len(n), sys.function))
      }),
      error = function(e) {
        c("error", "Error", cut_bytes(conditionMessage(e), max_result_bytes %/% 2L), trace)
      })
  }

  run_code <- function(code) {
    exprs <- tryCatch(parse(text = code, keep.source = TRUE), error = function(e) e)
    if (inherits(exprs, "error")) {
      return(c("error", "Error", cut_bytes(conditionMessage(exprs), max_result_bytes %/% 2L)))
    }
    for (expr in exprs) {
      failure <- eval_top(expr)
      if (!is.null(failure)) return(failure)
    }
    "ok"
  }

  # An interrupt meant for the previous statement (sent as it ended) must not hit this one.
  drain_interrupt <- function() {
    tryCatch(allowInterrupts(Sys.sleep(0)), interrupt = function(c) NULL)
  }

  run_statement <- function(id, code, properties) {
    drain_interrupt()
    set_job_properties(properties)
    outcome <- tryCatch(run_code(code), interrupt = function(c) "interrupted")
    if (identical(outcome, "interrupted")) reconnect_backend()
    end_of_output()
    send("result", id, outcome)
  }

  # ------------------------------------------------------------------ completion

  complete <- function(line, cursor) {
    candidates <- tryCatch(suppressWarnings({
      utils:::.assignLinebuffer(line)
      utils:::.assignEnd(cursor)
      utils:::.guessTokenFromLine()
      utils:::.completeToken()
      utils:::.retrieveCompletions()
    }), error = function(e) character())
    candidates <- unique(as.character(candidates))
    candidates[seq_len(min(length(candidates), MAX_COMPLETIONS))]
  }

  # ------------------------------------------------------------------ SparkR

  attach_sparkr <- function(lib) {
    .libPaths(c(lib, .libPaths()))
    suppressPackageStartupMessages(library(SparkR, lib.loc = lib))
    port <- Sys.getenv("EXISTING_SPARKR_BACKEND_PORT")
    secret <- Sys.getenv("SPARKR_BACKEND_AUTH_SECRET")
    timeout <- as.numeric(Sys.getenv("SPARKR_BACKEND_CONNECTION_TIMEOUT", "6000"))
    token <- Sys.getenv("SPARKGATE_R_SPARK_SESSION")
    Sys.unsetenv("SPARKGATE_R_SPARK_SESSION")
    if (!nzchar(port) || !nzchar(secret)) stop("the SparkR backend's port or secret is missing")
    sparkr_env <- SparkR:::.sparkREnv
    SparkR:::connectBackend("localhost", as.integer(port), timeout, secret)
    assign(".scStartTime", as.integer(Sys.time()), envir = sparkr_env)
    # The driver's own session and context: sparkR.session() then returns them instead of
    # creating a SparkContext, and temporary views are shared with the other kinds.
    session <- SparkR:::callJStatic("io.sparkgate.agent.interp.RSparkEntries", "sparkSession", token)
    jsc <- SparkR:::callJStatic("org.apache.spark.sql.api.r.SQLUtils", "getJavaSparkContext", session)
    assign(".sparkRjsc", jsc, envir = sparkr_env)
    assign(".sparkRsession", session, envir = sparkr_env)
    spark <- suppressMessages(SparkR::sparkR.session())
    assign("spark", spark, envir = .GlobalEnv)
    assign("sc", jsc, envir = .GlobalEnv)
    assign("sqlContext", SparkR:::callJMethod(spark, "sqlContext"), envir = .GlobalEnv)
    sparkr <<- list(port = port, secret = secret, timeout = timeout, jsc = jsc)
    as.character(utils::packageVersion("SparkR"))
  }

  # The statement's job group and co on the backend thread that runs this process's JVM calls,
  # so that its Spark jobs count as the statement's and are cancelled with it.
  set_job_properties <- function(properties) {
    if (is.null(sparkr) || length(properties) < 2L) return(invisible())
    keys <- properties[c(TRUE, FALSE)]
    values <- properties[c(FALSE, TRUE)]
    for (i in seq_along(keys)) {
      value <- if (nzchar(values[[i]])) values[[i]] else NULL
      tryCatch(SparkR:::callJMethod(sparkr$jsc, "setLocalProperty", keys[[i]], value),
               error = function(e) NULL, interrupt = function(c) NULL)
    }
  }

  # An interrupt may have cut a backend call short, leaving its reply unread on the connection:
  # a new connection keeps later calls in step (the JVM objects live on in the backend).
  reconnect_backend <- function() {
    if (is.null(sparkr)) return(invisible())
    tryCatch({
      sparkr_env <- SparkR:::.sparkREnv
      old <- get0(".sparkRCon", envir = sparkr_env, inherits = FALSE)
      if (!is.null(old)) try(close(old), silent = TRUE)
      if (exists(".sparkRCon", envir = sparkr_env, inherits = FALSE)) rm(".sparkRCon", envir = sparkr_env)
      SparkR:::connectBackend("localhost", as.integer(sparkr$port), sparkr$timeout, sparkr$secret)
    }, error = function(e) {
      cat("sparkgate: could not reconnect to the SparkR backend: ", conditionMessage(e), "\n",
          sep = "", file = stderr())
    }, interrupt = function(c) NULL)
  }

  # ------------------------------------------------------------------ main

  connect <- function() {
    host <- Sys.getenv("SPARKGATE_R_HOST", "127.0.0.1")
    port <- as.integer(Sys.getenv("SPARKGATE_R_PORT"))
    secret <- Sys.getenv("SPARKGATE_R_SECRET")
    Sys.unsetenv(c("SPARKGATE_R_HOST", "SPARKGATE_R_PORT", "SPARKGATE_R_SECRET"))
    if (is.na(port) || !nzchar(secret)) stop("SPARKGATE_R_PORT and SPARKGATE_R_SECRET must be set")
    con <<- socketConnection(host = host, port = port, blocking = FALSE, open = "r+b",
                             timeout = 60L * 60L * 24L * 365L)
    send("hello", secret, PROTOCOL_VERSION, Sys.getpid())
    init <- next_message()
    if (is.null(init) || init[[1L]] != "init" || length(init) < 3L) stop("the agent did not send init")
    marker <<- init[[2L]]
    max_result_bytes <<- as.integer(init[[3L]])
  }

  main <- function() {
    connect()
    lib <- Sys.getenv("SPARKR_PACKAGE_DIR")
    sparkr_version <- ""
    if (nzchar(lib)) {
      trace <- NULL
      attached <- tryCatch(
        withCallingHandlers(attach_sparkr(lib), error = function(e) {
          trace <<- vapply(rev(sys.calls()), one_line_call, "")
        }),
        error = function(e) e)
      if (inherits(attached, "error")) {
        send("init_error", cut_bytes(conditionMessage(attached), max_result_bytes %/% 2L),
             trace[seq_len(min(length(trace), MAX_TRACEBACK_FRAMES))])
        return(invisible())
      }
      sparkr_version <- attached
    }
    send("ready", R.version.string, sparkr_version)
    repeat {
      message <- next_message()
      if (is.null(message)) break
      type <- message[[1L]]
      if (type == "execute") {
        run_statement(message[[2L]], message[[3L]], message[-(1:3)])
      } else if (type == "complete") {
        send("completions", message[[2L]], complete(message[[3L]], as.integer(message[[4L]])))
      } else if (type == "shutdown") {
        break
      } else {
        cat("sparkgate R REPL: unknown message type ", type, "\n", sep = "", file = stderr())
      }
    }
  }

  suspendInterrupts(main())
  quit(save = "no", status = 0L, runLast = FALSE)
}, envir = new.env(parent = baseenv()))
