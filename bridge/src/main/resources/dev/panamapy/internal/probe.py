# What a Python says about itself, for panamapy. The library runs it once with `python -c` before
# embedding that Python; scripts/lib/common.sh runs it to list and sort out the Pythons it finds.
# Runs on Python 2.6+ and 3.x, so that an old Python gets a clear "too old" answer.
# Prints one "key<TAB>value" a line; the last line is "end<TAB>panamapy-probe".
import os, sys
try:
    import sysconfig
except ImportError:
    from distutils import sysconfig
v = sysconfig.get_config_var
w = sys.stdout.write
impl = getattr(getattr(sys, 'implementation', None), 'name', None)
if impl is None:
    impl = 'pypy' if 'PyPy' in sys.version else 'cpython'
w('impl\t%s\n' % impl)
w('version\t%d.%d.%d\n' % tuple(sys.version_info[:3]))
w('executable\t%s\n' % sys.executable)
w('shared\t%d\n' % (1 if v('Py_ENABLE_SHARED') else 0))
w('gil_disabled\t%d\n' % (1 if v('Py_GIL_DISABLED') else 0))
libdir = v('LIBDIR') or ''
w('libdir\t%s\n' % libdir)
lib = ''
for name in (v('INSTSONAME') or '', v('LDLIBRARY') or ''):
    if name and not name.endswith('.a') and os.path.isfile(os.path.join(libdir, name)):
        lib = os.path.join(libdir, name)
        break
w('libpython\t%s\n' % lib)
w('end\tpanamapy-probe\n')
