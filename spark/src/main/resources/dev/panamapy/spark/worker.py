"""panamapy's Spark worker: the Python half of dev.panamapy.spark, run in each executor JVM's
embedded CPython as the module ``_panamapy_spark``.

Java hands over Arrow batches through the Arrow PyCapsule interface (objects with
``__arrow_c_array__`` over Java memory: ``pa.record_batch(obj)`` reads it in place) and takes back
whatever the user's function returns the same way. Everything here runs with the GIL held by the
calling Java task thread; nothing keeps per-task state beyond the objects Java holds.
"""
import collections
import importlib
import inspect
import linecache
import threading

import pyarrow as pa

_functions = {}


def load(key, kind, text, name):
    """The user's function, loaded once per interpreter: ``kind`` 'source' (``text`` defines
    ``name``) or 'module' (``text`` is 'package.module:function')."""
    fn = _functions.get(key)
    if fn is not None:
        return fn
    if kind == 'source':
        namespace = {'__name__': '__panamapy_udf__'}
        filename = '<panamapy udf %s>' % name
        # tracebacks show the UDF's lines (linecache keeps entries whose mtime is None)
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        exec(compile(text, filename, 'exec'), namespace)
        if name not in namespace:
            raise NameError("the UDF source defines no '%s' (PythonFunction.fromSource names the "
                            "function to call; defined: %s)"
                            % (name, ', '.join(k for k in namespace if not k.startswith('__')) or 'nothing'))
        fn = namespace[name]
    else:
        module, _, attr = text.partition(':')
        fn = importlib.import_module(module)
        for part in attr.split('.'):
            fn = getattr(fn, part)
    if not callable(fn):
        raise TypeError('%s is a %s, not a function' % (name, type(fn).__name__))
    _functions[key] = fn
    return fn


def schema_of(obj):
    """The pyarrow schema of an exported (empty) batch: how Java says what it expects back."""
    return pa.record_batch(obj).schema


class Feed:
    """The iterator of input batches a mapInArrow function reads. Java puts the next batch in
    before it asks for output (so building it needs no GIL); a function that wants more than it
    was given pulls the rest from Java itself.

    Only the task's thread, while Java runs a step of the function (``step``), may iterate it:
    pulling runs Spark's row iterator, which is neither thread-safe nor valid after its task
    ended. Any other use raises RuntimeError(``refused``) and takes nothing."""

    __slots__ = ('queue', 'pull', 'done', 'owner', 'refused')

    def __init__(self, pull, refused):
        self.queue = collections.deque()
        self.pull = pull
        self.done = False
        self.owner = None
        self.refused = refused

    def __iter__(self):
        return self

    def __next__(self):
        if self.owner != threading.get_ident():
            raise RuntimeError(self.refused)
        if self.queue:
            obj = self.queue.popleft()
        elif self.done:
            raise StopIteration
        else:
            obj = self.pull()
            if obj is None:
                self.done = True
                raise StopIteration
        return pa.record_batch(obj)

    def hungry(self):
        return not self.queue and not self.done

    def put(self, obj):
        if obj is None:
            self.done = True
        else:
            self.queue.append(obj)

    def step(self, results):
        """The next output batch of ``results`` (None at the end), computed with this thread
        allowed to iterate the feed."""
        self.owner = threading.get_ident()
        try:
            return next_batch(results)
        finally:
            self.owner = None

    def close(self):
        """The task ended: batches not taken go back (their Arrow memory is freed), and the feed
        is over for anyone who kept it."""
        self.queue.clear()
        self.done = True


def _describe(schema):
    return ', '.join('%s: %s' % (f.name, f.type) for f in schema) or '(no columns)'


def _conform(batch, expected, what):
    """``batch`` with exactly the ``expected`` schema: same column names in the same order; a
    differing type is cast (safely: overflow or lossy conversion raises); nulls in a column the
    schema declares non-nullable are refused."""
    if batch.schema.names != expected.names:
        raise ValueError('%s returned a batch with columns [%s] but the declared schema has [%s]: '
                         'return the declared columns in that order, or change the schema'
                         % (what, _describe(batch.schema), _describe(expected)))
    if not batch.schema.equals(expected, check_metadata=False):
        types = [(f.name, f.type, e.type) for f, e in zip(batch.schema, expected) if f.type != e.type]
        if types:
            try:
                batch = pa.RecordBatch.from_arrays(
                    [c if c.type == e.type else c.cast(e.type) for c, e in zip(batch.columns, expected)],
                    schema=expected)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise TypeError('%s returned %s where the declared schema has %s, and it cannot be cast (%s)'
                                % (what, ', '.join('%s: %s' % (n, t) for n, t, _ in types),
                                   ', '.join('%s: %s' % (n, x) for n, _, x in types), e)) from None
        else:
            batch = pa.RecordBatch.from_arrays(batch.columns, schema=expected)
    for column, field in zip(batch.columns, expected):
        if not field.nullable and column.null_count:
            raise ValueError("%s returned %d nulls in column '%s', which the declared schema says is "
                             "not nullable" % (what, column.null_count, field.name))
    return batch


def _batches(result, what):
    if isinstance(result, pa.RecordBatch):
        yield result
    elif isinstance(result, pa.Table):
        yield from result.to_batches()
    elif hasattr(result, '__arrow_c_array__'):
        yield pa.record_batch(result)
    elif hasattr(result, '__arrow_c_stream__'):
        yield from pa.table(result).to_batches()
    elif type(result).__module__.startswith('pandas') and type(result).__name__ == 'DataFrame':
        yield pa.RecordBatch.from_pandas(result, preserve_index=False)
    else:
        raise TypeError('%s produced a %s; it must give pyarrow.RecordBatch, pyarrow.Table or '
                        'pandas.DataFrame objects' % (what, type(result).__name__))


def map_batches(fn, feed, expected, what):
    """mapInArrow: the user's function gets the input batches and yields output batches, each
    conformed to ``expected``."""
    results = fn(feed)
    if isinstance(results, (pa.RecordBatch, pa.Table)) or not hasattr(results, '__iter__'):
        raise TypeError('%s returned a %s; a mapInArrow function takes an iterator of '
                        'pyarrow.RecordBatch and yields (or returns an iterator of) batches'
                        % (what, type(results).__name__))
    for result in results:
        for batch in _batches(result, what):
            yield _conform(batch, expected, what)


def _arity(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(1 for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
               and p.default is p.empty)


def grouped(fn, keys):
    """applyInArrow: the user's function gets each group as a pyarrow.Table (and, if it takes
    two arguments, first the group's key as a tuple of Python values)."""
    with_key = _arity(fn) == 2

    def per_group(batches):
        for batch in batches:
            table = pa.Table.from_batches([batch])
            if with_key:
                key = tuple(table.column(k)[0].as_py() for k in keys)
                yield fn(key, table)
            else:
                yield fn(table)
    return per_group


def next_batch(results):
    """The next output batch, or None at the end."""
    for batch in results:
        return batch
    return None


def scalar(chains, obj, offsets, expected, names):
    """Scalar UDFs over one input batch: each chain's innermost function gets the argument
    columns (pyarrow.Array), the next ones the previous result; each result must be an array as
    long as the batch (a pandas Series or anything with __arrow_c_array__ is converted)."""
    batch = pa.record_batch(obj)
    n = batch.num_rows
    columns = []
    for chain, args, field, name in zip(chains, offsets, expected, names):
        values = [batch.column(i) for i in args]
        for fn in chain:
            values = [fn(*values)]
        columns.append(_array(values[0], field.type, n, "scalar UDF '%s'" % name))
    return pa.RecordBatch.from_arrays(columns, schema=expected)


def _array(result, arrow_type, n, what):
    if isinstance(result, pa.ChunkedArray):
        result = result.combine_chunks()
    elif not isinstance(result, pa.Array):
        if type(result).__module__.startswith('pandas') and type(result).__name__ == 'Series':
            result = pa.Array.from_pandas(result, type=arrow_type)
        elif hasattr(result, '__arrow_c_array__'):
            result = pa.array(result)
        else:
            raise TypeError('%s returned a %s; it must return a pyarrow.Array (or a pandas.Series) '
                            'with one value per input row' % (what, type(result).__name__))
    if len(result) != n:
        raise ValueError('%s returned %d values for a batch of %d rows; it must return one value per row'
                         % (what, len(result), n))
    if result.type != arrow_type:
        try:
            result = result.cast(arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise TypeError('%s returned %s values where its declared type is %s, and they cannot be cast (%s)'
                            % (what, result.type, arrow_type, e)) from None
    return result
