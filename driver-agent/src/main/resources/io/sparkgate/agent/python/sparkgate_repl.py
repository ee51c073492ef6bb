"""Sparkgate's Python REPL: the child process behind a session's ``pyspark`` statements.

The driver agent (io.sparkgate.agent.interp.PythonInterpreter) starts this program with the
Python that runs the session. The program attaches to the driver JVM through the py4j gateway the
agent started (PYSPARK_GATEWAY_PORT / PYSPARK_GATEWAY_SECRET, as the pyspark shell attaches to an
existing gateway), wraps the driver's SparkContext and SparkSession as ``sc``, ``spark`` and
``sqlContext``, then runs statements with Apache Livy's semantics.

Channel: one loopback TCP connection to the agent (SPARKGATE_REPL_HOST and SPARKGATE_REPL_PORT),
opened with the secret SPARKGATE_REPL_SECRET. Each message is one line of ASCII JSON; a result
message is at most SPARKGATE_REPL_MAX_RESULT_BYTES long (a larger one is replaced by an error).
The process's own stdout and stderr never carry messages: what is written there (logging,
subprocesses, C libraries) goes to the agent's log.

    child -> agent   {"type": "hello", "secret": S, "protocol": 1, "pid": P}
                     {"type": "ready", "python": "3.11.7 ..."}
                     {"type": "init_error", "ename": E, "evalue": V, "traceback": [...]}
                     {"type": "stream", "id": N, "name": "stdout" | "stderr", "text": T}
                     {"type": "result", "id": N, "status": "ok", "data": {MIME: VALUE}}
                     {"type": "result", "id": N, "status": "error", "ename": E, "evalue": V,
                      "traceback": [...]}
                     {"type": "completions", "id": K, "candidates": [...]}
    agent -> child   {"type": "execute", "id": N, "code": C, "properties": {KEY: VALUE | null}}
                     {"type": "interrupt", "id": N}
                     {"type": "complete", "id": K, "code": C, "cursor": I}
                     {"type": "shutdown"}

Everything a statement prints is sent as stream messages while it runs (the value of a last
expression too: Python's displayhook prints it), then one result; the agent builds ``text/plain``
from the streams, as Livy's ``stdout + stderr``. Statements run on the main thread, one at a time;
completion requests are answered on another thread meanwhile; an interrupt raises
KeyboardInterrupt in the statement (and only in user code, never in this program's own I/O).
"""

import ast
import base64
import builtins
import datetime
import decimal
import io
import json
import keyword
import logging
import os
import queue
import re
import rlcompleter
import signal
import socket
import sys
import threading
import time
import traceback
import types
import warnings

PROTOCOL_VERSION = 1
# Stream text is sent in messages of at most this many characters (at most 6 bytes each in JSON).
STREAM_CHUNK_CHARS = 16 * 1024
# Printed text waiting to be sent beyond which a printing statement waits for the sender.
MAX_PENDING_CHARS = 1024 * 1024
# How long the sender lets printed text accumulate before sending it.
STREAM_BATCH_SECONDS = 0.02
MAX_COMPLETIONS = 1000

# A frame of the statement's own top level: Livy drops it and every frame above it (this program's).
TOP_FRAME = re.compile(r'\s*File "<stdin>".*in <module>')

LOG = logging.getLogger("sparkgate_repl")


def encode(message):
    """One message as a line of ASCII JSON (lone surrogates survive as escapes)."""
    return (json.dumps(message, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")


class Channel:
    """The connection to the agent: JSON lines, written by several threads, read by one."""

    def __init__(self, sock):
        self._sock = sock
        self._reader = sock.makefile("rb")
        self._lock = threading.Lock()

    def send(self, message):
        self.send_encoded(encode(message))

    def send_encoded(self, data):
        with self._lock:
            self._sock.sendall(data)

    def receive(self):
        """The next message, or None once the agent has closed the connection."""
        line = self._reader.readline()
        if not line:
            return None
        return json.loads(line)


class State:
    """What the main thread is doing, for the interrupt handler and the output collector."""

    def __init__(self):
        self.statement_id = None  # the statement being run, if any
        self.in_user_code = False  # only then may an interrupt raise KeyboardInterrupt
        self.interrupt_for = None  # the statement an interrupt was asked for


STATE = State()


class OutputCollector:
    """Collects what statements print and sends it to the agent from its own thread.

    The main thread only appends to a buffer, so that a KeyboardInterrupt raised in user code can
    never cut a message in half; the sender thread turns the buffer into stream messages, after
    letting small writes gather for a moment. Text written while no statement runs (a thread left
    behind by an earlier statement) goes to the process's own stream, that is, to the agent's log.
    """

    def __init__(self, channel):
        self._channel = channel
        self._cond = threading.Condition()
        self._runs = []  # [statement id, stream name, [texts]], in the order written
        self._pending_chars = 0
        self._written = 0  # writes accepted so far
        self._sent = 0  # of which sent
        self._urgent = False  # send without waiting for more
        self._failed = False

    def start(self):
        threading.Thread(target=self._send_loop, name="sparkgate-output", daemon=True).start()

    def write(self, name, text):
        with self._cond:
            statement_id = STATE.statement_id
            if statement_id is None or self._failed:
                raw = sys.__stdout__ if name == "stdout" else sys.__stderr__
                raw.write(text)
                raw.flush()
                return
            while self._pending_chars >= MAX_PENDING_CHARS and not self._failed:
                self._cond.wait()
            last = self._runs[-1] if self._runs else None
            if last is not None and last[0] == statement_id and last[1] == name:
                last[2].append(text)
            else:
                self._runs.append([statement_id, name, [text]])
            self._pending_chars += len(text)
            self._written += 1
            if self._pending_chars >= STREAM_CHUNK_CHARS:
                self._urgent = True
            self._cond.notify_all()

    def end_statement(self):
        """Ends the statement's output (later writes go to the process's streams) and returns once
        what it wrote has been sent."""
        with self._cond:
            STATE.statement_id = None
            target = self._written
            self._urgent = True
            self._cond.notify_all()
            while self._sent < target and not self._failed:
                self._cond.wait()

    def _send_loop(self):
        while True:
            with self._cond:
                while not self._runs:
                    self._cond.wait()
                self._cond.wait_for(lambda: self._urgent, STREAM_BATCH_SECONDS)
                runs, self._runs = self._runs, []
                taken = self._written
                self._pending_chars = 0
                self._urgent = False
                self._cond.notify_all()
            try:
                for statement_id, name, texts in runs:
                    text = "".join(texts)
                    for start in range(0, len(text), STREAM_CHUNK_CHARS):
                        self._channel.send({
                            "type": "stream",
                            "id": statement_id,
                            "name": name,
                            "text": text[start:start + STREAM_CHUNK_CHARS],
                        })
            except Exception:
                LOG.warning("cannot send output to the agent", exc_info=True)
                with self._cond:
                    self._failed = True  # the agent is gone; the reader thread ends the process
            with self._cond:
                self._sent = taken
                self._cond.notify_all()


class CapturedStream(io.TextIOBase):
    """sys.stdout or sys.stderr while the REPL runs: text goes to the OutputCollector."""

    def __init__(self, collector, name):
        super().__init__()
        self._collector = collector
        self._name = name

    @property
    def name(self):
        return "<%s>" % self._name

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "strict"

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, s):
        if isinstance(s, (bytes, bytearray)):
            s = bytes(s).decode("utf-8", "replace")
        elif not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        if s:
            self._collector.write(self._name, s)
        return len(s)

    def flush(self):
        pass


# ---------------------------------------------------------------------------------------------
# Running statements, as Livy's fake_shell does

class ExecutionError(Exception):
    """User code raised: carries its exc_info."""

    def __init__(self, exc_info):
        super().__init__()
        self.exc_info = exc_info


class UnknownMagic(Exception):
    pass


class ReplyError(Exception):
    """An error to report as (ename, evalue) with only the exception line as traceback."""

    def __init__(self, exc):
        super().__init__()
        self.exc = exc


def run_user_code(function, *args):
    """Runs user code: the only place where an interrupt raises KeyboardInterrupt."""
    STATE.in_user_code = True
    try:
        return function(*args)
    except BaseException:
        raise ExecutionError(sys.exc_info())
    finally:
        STATE.in_user_code = False


class CodeNode:
    """Python code: all statements but the last as a module, the last as interactive input, so that
    an expression there prints its value through sys.displayhook."""

    def __init__(self, code, namespace):
        self.tree = compile(code, "<stdin>", "exec", ast.PyCF_ONLY_AST, True)
        self.namespace = namespace

    def run(self):
        body = self.tree.body
        if len(body) > 1:
            module = compile(ast.Module(body[:-1], []), "<stdin>", "exec", dont_inherit=True)
            run_user_code(exec, module, self.namespace)
        if body:
            last = compile(ast.Interactive(body[-1:]), "<stdin>", "single", dont_inherit=True)
            run_user_code(exec, last, self.namespace)
        return None


class MagicNode:
    """A line ``%name argument``."""

    def __init__(self, line, namespace):
        parts = line[1:].rstrip().split(" ", 1)
        self.magic = parts[0]
        self.argument = parts[1].strip() if len(parts) > 1 else ""
        self.namespace = namespace

    def run(self):
        if not self.magic:
            raise UnknownMagic("magic command not specified")
        handler = MAGICS.get(self.magic)
        if handler is None:
            raise UnknownMagic("unknown magic command '%s'" % self.magic)
        value = self.value()
        try:
            return handler(value)
        except (ExecutionError, ReplyError):
            raise
        except Exception as e:  # the value does not fit the magic
            raise ReplyError(e)

    def value(self):
        """The argument's value: a name is looked up as Livy does; any other expression is evaluated."""
        if not self.argument:
            raise ReplyError(ValueError("%%%s needs a variable or an expression" % self.magic))
        if self.argument.isidentifier() and not keyword.iskeyword(self.argument):
            try:
                return self.namespace[self.argument]
            except KeyError as e:
                raise ReplyError(e)
        try:
            expression = compile(self.argument, "<stdin>", "eval", dont_inherit=True)
        except (SyntaxError, ValueError) as e:
            raise ReplyError(e)
        return run_user_code(eval, expression, self.namespace)


def parse(code, namespace):
    """The statement as nodes; magic lines split it into chunks (Livy's rule). Raises SyntaxError."""
    try:
        return [CodeNode(code, namespace)]
    except SyntaxError:
        pass
    chunks = []
    normal = []
    for line in code.rstrip().split("\n"):
        if line.startswith("%"):
            if normal:
                chunks.append("\n".join(normal))
                normal = []
            chunks.append(line)
        else:
            normal.append(line)
    if normal:
        chunks.append("\n".join(normal))
    return [MagicNode(c, namespace) if c.startswith("%") else CodeNode(c, namespace) for c in chunks]


def error_reply(statement_id, exc_type, exc_value, tb):
    lines = traceback.format_exception(exc_type, exc_value, tb, chain=False)
    for i, line in enumerate(lines):
        if TOP_FRAME.match(line):
            lines = lines[:1] + lines[i + 1:]
            break
    return {
        "type": "result",
        "id": statement_id,
        "status": "error",
        "ename": exc_type.__name__,
        "evalue": str(exc_value),
        "traceback": lines,
    }


def execute(namespace, spark_context, message):
    """Runs one statement; returns its result message (not yet encoded)."""
    statement_id = message["id"]
    apply_local_properties(spark_context, message.get("properties") or {})
    try:
        nodes = parse(message["code"], namespace)
    except Exception as e:  # SyntaxError, or ValueError for a null byte: nothing has run
        return error_reply(statement_id, type(e), e, None)
    data = None
    try:
        for node in nodes:
            data = node.run()
    except ExecutionError as e:
        return error_reply(statement_id, *e.exc_info)
    except UnknownMagic as e:
        return error_reply(statement_id, type(e), e, None)
    except ReplyError as e:
        return error_reply(statement_id, type(e.exc), e.exc, None)
    return {"type": "result", "id": statement_id, "status": "ok", "data": data or {}}


def encode_reply(reply, limit):
    """The reply as a message of at most ``limit`` bytes: a result too large for it (%json of a
    huge value) becomes an error, an enormous error message is cut."""
    try:
        data = encode(reply)
    except (TypeError, ValueError) as e:  # %json of a value JSON cannot carry
        return encode(error_reply(reply["id"], type(e), e, None))
    if len(data) <= limit:
        return data
    if reply["status"] == "ok":
        e = ValueError("the result is %d bytes of JSON, more than the %d-byte output limit" % (len(data), limit))
        return encode(error_reply(reply["id"], type(e), e, None))
    budget = limit // 16  # characters, at most 6 bytes each once escaped
    traceback_lines = []
    for line in reply["traceback"]:
        budget -= len(line)
        if budget < 0:
            break
        traceback_lines.append(line)
    cut = dict(reply, evalue=reply["evalue"][:limit // 16] + " [cut]", traceback=traceback_lines)
    return encode(cut)


def apply_local_properties(spark_context, properties):
    """Gives this thread's JVM side the statement's job group, so that its jobs are counted and
    cancelled with the statement. Set every time: the JVM thread changes after an interrupt."""
    try:
        # One call into the driver for all of them: each py4j call is a round trip to the JVM.
        spark_context._gateway.entry_point.applyLocalProperties(json.dumps(properties))
    except Exception:
        LOG.warning("cannot set the statement's Spark job group", exc_info=True)


# ---------------------------------------------------------------------------------------------
# Magics: Livy's %json, %table and %matplot

def magic_json(value):
    return {"application/json": value}


def magic_table(value):
    if not isinstance(value, (list, tuple)):
        value = [value]
    headers = {}
    data = []
    for row in value:
        cols = []
        data.append(cols)
        if type(row).__name__ == "Row":
            row = row.asDict()
        if not isinstance(row, (list, tuple, dict)):
            row = [row]
        items = enumerate(row) if isinstance(row, (list, tuple)) else sorted(row.items())
        for name, col in items:
            col_type, col = table_value(col)
            header = headers.get(name)
            if header is None:
                headers[name] = {"name": str(name), "type": col_type}
            elif col_type != "NULL_TYPE" and header["type"] != col_type:
                if header["type"] == "NULL_TYPE":
                    header["type"] = col_type
                else:
                    raise ReplyError(Exception("table rows have different types"))
            cols.append(col)
    return {
        "application/vnd.livy.table.v1+json": {
            "headers": [header for _, header in sorted(headers.items())],
            "data": data,
        }
    }


def table_sequence(items):
    item_type = None
    converted = []
    for item in items:
        this_type, item = table_value(item)
        if item_type is None:
            item_type = this_type
        elif item_type != this_type:
            raise ReplyError(ValueError("value has inconsistent types"))
        converted.append(item)
    return "ARRAY_TYPE", converted


def table_map(mapping):
    key_type = None
    value_type = None
    converted = {}
    for key, value in mapping.items():
        this_key_type, key = table_value(key)
        this_value_type, value = table_value(value)
        if key_type is None:
            key_type = this_key_type
        elif key_type != this_key_type:
            raise ReplyError(ValueError("value has inconsistent types"))
        if value_type is None:
            value_type = this_value_type
        elif value_type != this_value_type:
            raise ReplyError(ValueError("value has inconsistent types"))
        converted[key] = value
    return "MAP_TYPE", converted


TABLE_TYPES = {
    type(None): lambda x: ("NULL_TYPE", x),
    bool: lambda x: ("BOOLEAN_TYPE", x),
    int: lambda x: ("INT_TYPE", x),
    float: lambda x: ("DOUBLE_TYPE", x),
    str: lambda x: ("STRING_TYPE", str(x)),
    datetime.date: lambda x: ("DATE_TYPE", str(x)),
    datetime.datetime: lambda x: ("TIMESTAMP_TYPE", str(x)),
    decimal.Decimal: lambda x: ("DECIMAL_TYPE", str(x)),
    tuple: table_sequence,
    list: table_sequence,
    dict: table_map,
}


def table_value(value):
    """(Livy type name, JSON value) of one cell; types it does not know are strings."""
    return TABLE_TYPES.get(type(value), TABLE_TYPES[str])(value)


def magic_matplot(value):
    def render():
        figure = value if hasattr(value, "savefig") and not hasattr(value, "gcf") else value.gcf()
        image = io.BytesIO()
        figure.savefig(image, format="png")
        return image.getvalue()

    png = run_user_code(render)
    return {"image/png": base64.b64encode(png).decode("ascii")}


MAGICS = {
    "json": magic_json,
    "table": magic_table,
    "matplot": magic_matplot,
}


# ---------------------------------------------------------------------------------------------
# Completion

IDENTIFIER_TAIL = re.compile(r"[A-Za-z_][\w.]*$")


def complete(namespace, code, cursor):
    """Names that complete the dotted name before the cursor: ``sc.paral`` gives ``parallelize``."""
    cursor = max(0, min(cursor, len(code)))
    match = IDENTIFIER_TAIL.search(code[:cursor])
    if match is None:
        return []
    text = match.group(0)
    completer = rlcompleter.Completer(namespace)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matches = completer.attr_matches(text) if "." in text else completer.global_matches(text)
    names = []
    seen = set()
    for candidate in matches:
        name = candidate.rsplit(".", 1)[-1].rstrip("(: ")
        if name and name not in seen:
            seen.add(name)
            names.append(name)
    return sorted(names)[:MAX_COMPLETIONS]


def serve_completions(channel, namespace, requests):
    while True:
        message = requests.get()
        try:
            candidates = complete(namespace, message.get("code", ""), int(message.get("cursor", 0)))
        except Exception:
            LOG.warning("completion failed", exc_info=True)
            candidates = []
        try:
            channel.send({"type": "completions", "id": message["id"], "candidates": candidates})
        except OSError:
            return


# ---------------------------------------------------------------------------------------------
# Start-up and the loops

def on_interrupt(signum, frame):
    if STATE.in_user_code and STATE.interrupt_for == STATE.statement_id:
        raise KeyboardInterrupt()


def connect():
    host = os.environ.pop("SPARKGATE_REPL_HOST", "127.0.0.1")
    port = int(os.environ.pop("SPARKGATE_REPL_PORT"))
    secret = os.environ.pop("SPARKGATE_REPL_SECRET")
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    channel = Channel(sock)
    channel.send({"type": "hello", "secret": secret, "protocol": PROTOCOL_VERSION, "pid": os.getpid()})
    return channel


def attach_spark(namespace):
    """Wraps the driver's SparkContext and SparkSession, as the pyspark shell does with its own."""
    from pyspark.conf import SparkConf
    from pyspark.context import SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession, SQLContext

    gateway = launch_gateway()  # connects to PYSPARK_GATEWAY_PORT; launches nothing
    entry = gateway.entry_point
    jsc = entry.javaSparkContext()
    conf = SparkConf(_jconf=jsc.getConf())
    # A SparkContext that fails half-way through __init__ stops itself, and this one is the
    # driver's: keep it running whatever happens here.
    stop = SparkContext.stop
    SparkContext.stop = lambda self: None
    try:
        sc = SparkContext(gateway=gateway, jsc=jsc, conf=conf)
    finally:
        SparkContext.stop = stop
    spark = SparkSession(sc, jsparkSession=entry.sparkSession())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sql_context = SQLContext(sc, spark)
    namespace["sc"] = sc
    namespace["spark"] = spark
    namespace["sqlContext"] = sql_context
    return sc


def read_requests(channel, statements, completions):
    """The reader thread: statements to the main thread, completions to their own thread."""
    try:
        while True:
            message = channel.receive()
            if message is None:
                break
            kind = message.get("type")
            if kind == "execute":
                statements.put(message)
            elif kind == "complete":
                completions.put(message)
            elif kind == "interrupt":
                if message.get("id") == STATE.statement_id:
                    STATE.interrupt_for = message["id"]
                    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            elif kind == "shutdown":
                statements.put(None)
                return
            else:
                LOG.warning("unknown message type %r", kind)
    except Exception:
        LOG.exception("the connection to the agent failed")
    # The agent is gone: nobody will read what this process does from now on.
    os._exit(0)


def main():
    logging.basicConfig(level=logging.WARNING, stream=sys.__stderr__,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # This program's directory is no place to import user modules from.
    script_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != script_dir]
    max_result_bytes = int(os.environ.pop("SPARKGATE_REPL_MAX_RESULT_BYTES", str(1024 * 1024)))
    channel = connect()

    user_module = types.ModuleType("__main__")
    user_module.__dict__["__builtins__"] = builtins
    namespace = user_module.__dict__
    try:
        spark_context = attach_spark(namespace)
    except BaseException as e:
        reply = error_reply(None, type(e), e, e.__traceback__)
        reply["type"] = "init_error"
        channel.send_encoded(encode_reply(reply, max_result_bytes))
        return 1
    # pyspark 4.2 warns, once, that DataFrame.toJSON() will return a DataFrame one day. sparkmagic's
    # %%sql prints toJSON() rows and parses every line of the output as JSON: the warning breaks it.
    warnings.filterwarnings("ignore", message="The return type of DataFrame.toJSON", category=UserWarning)
    # Functions and classes defined by statements belong to a module named __main__, as in any
    # Python shell (cloudpickle then ships them by value to executors).
    sys.modules["__main__"] = user_module
    sys.stdin = io.StringIO()
    collector = OutputCollector(channel)
    collector.start()
    sys.stdout = CapturedStream(collector, "stdout")
    sys.stderr = CapturedStream(collector, "stderr")
    signal.signal(signal.SIGINT, on_interrupt)  # replaces pyspark's, which cancels every job

    statements = queue.Queue()
    completions = queue.Queue()
    threading.Thread(target=serve_completions, args=(channel, namespace, completions),
                     name="sparkgate-completions", daemon=True).start()
    threading.Thread(target=read_requests, args=(channel, statements, completions),
                     name="sparkgate-requests", daemon=True).start()
    channel.send({"type": "ready", "python": sys.version})

    while True:
        message = statements.get()
        if message is None:
            break
        STATE.statement_id = message["id"]
        try:
            reply = execute(namespace, spark_context, message)
        except BaseException as e:  # a failure of this program, not of the statement
            reply = error_reply(message["id"], type(e), e, e.__traceback__)
            reply["ename"] = "InternalError"
        collector.end_statement()
        STATE.interrupt_for = None
        channel.send_encoded(encode_reply(reply, max_result_bytes))
    sys.stdout = sys.__stdout__
    sys.stderr = sys.__stderr__
    return 0


if __name__ == "__main__":
    sys.exit(main())
