import sys, time, shutil, cProfile
from pathlib import Path
sys.path.insert(0, '.')
W = Path(sys.argv[1]); mode = sys.argv[2] if len(sys.argv) > 2 else 'time'
shutil.copy(W / 'fresh.db', W / 'imp.db')
for ext in ('-wal', '-shm'):
    p = W / ('imp.db' + ext)
    if p.exists(): p.unlink()
from ledger.db import make_engine, make_sessionmaker
from purchase.imports import import_file
from bench.__main__ import KINDS
engine = make_engine(f'sqlite:///{W}/imp.db'); maker = make_sessionmaker(engine)
def go():
    out = []
    for kind in KINDS:
        t = time.perf_counter()
        with maker() as s:
            n = import_file(s, kind, W / 'book' / f'{kind}.csv', 'bench').rows
            s.commit()
        out.append((kind, n, round(time.perf_counter() - t, 3)))
    return out
t0 = time.perf_counter()
if mode == 'prof':
    pr = cProfile.Profile(); pr.enable(); r = go(); pr.disable()
    pr.dump_stats(str(W / 'imp.prof'))
else:
    r = go()
tot = time.perf_counter() - t0
n = sum(x[1] for x in r)
print(r, round(tot, 3), n, round(n / tot), 'lines/s')
