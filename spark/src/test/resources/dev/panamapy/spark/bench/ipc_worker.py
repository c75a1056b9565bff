"""The out-of-process baseline: a Python worker fed Arrow IPC over a pipe, the way PySpark's
workers are fed (Spark's Arrow writer on the JVM side, pyarrow.ipc here). It runs the same
worker.py functions as the in-process path, so the two differ only in how the batches travel.

Per task, on stdin: int32 length + JSON job, an IPC stream with the expected output schema (no
batches), an IPC stream of the input batches. On stdout: per output batch int32 1 + the batch as
one encapsulated IPC message; then int32 0 (done), or int32 2 + int32 length + traceback (the
worker then exits).
"""
import importlib.util
import json
import struct
import sys
import traceback

import pyarrow as pa

spec = importlib.util.spec_from_file_location('_panamapy_spark', sys.argv[1])
worker = importlib.util.module_from_spec(spec)
spec.loader.exec_module(worker)

inp = sys.stdin.buffer
out = sys.stdout.buffer

while True:
    head = inp.read(4)
    if len(head) < 4:
        break
    job = json.loads(inp.read(struct.unpack('>i', head)[0]))
    try:
        expected = pa.ipc.open_stream(inp).read_all().schema
        fn = worker.load(job['key'], job['kind'], job['text'], job['name'])
        if job['keys']:
            fn = worker.grouped(fn, job['keys'])
        reader = pa.ipc.open_stream(inp)
        for batch in worker.map_batches(fn, iter(reader), expected, job['what']):
            out.write(struct.pack('>i', 1))
            out.write(batch.serialize())
        for _ in reader:
            pass
        out.write(struct.pack('>i', 0))
        out.flush()
    except BaseException:
        text = traceback.format_exc().encode()
        out.write(struct.pack('>ii', 2, len(text)))
        out.write(text)
        out.flush()
        sys.exit(1)
