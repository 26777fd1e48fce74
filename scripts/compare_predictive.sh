#!/usr/bin/env bash
# Predictive vs empirical tuning on a dnn model (ApproxTuner's Pi-2 and Pi-1 vs its empirical
# search), rerunnable by anyone:
#  1. empirical: `--strategy auto` for EMPIRICAL_ITERATIONS unique tune-split evaluations;
#  2. predictive Pi-2 and 3. predictive Pi-1: `--strategy predictive` (profiling of every
#     (op, knob) alone, model search, VALIDATE validations), same seed, options and budget cap
#     (they stop by themselves long before it).
# Every run uses the same app options (QoS = top-1 accuracy on the first TUNE_IMAGES tune images,
# cost = paired CPU wall-time ratio to the exact network), the same tuner threshold (QOS_LOSS
# points) and its own fresh folder (so nothing is served from an earlier run's store), and ends
# with the tuner's test phase: the best configurations on the whole 5,000-image test split.
# The table gives, per run: real tune-split evaluations per phase, wall time of the whole
# command and of its tuning (start to the last tune-split evaluation, i.e. without the test
# phase), and the best speedup whose test-split accuracy loss is <= 1 and <= 2 points (the
# speedup is the one the run measured on the tune split). With REPORT=1, `approxtune dnn-report`
# also re-times every final configuration of every run one after the other (1,000 images, median
# of 11 paired ratios), so the runs' speedups are compared under the same machine load; the
# table then has those speedups too. SKIP_TUNE=1 only re-reports runs already in $OUT.
# Outputs in $OUT/<run>/ and $OUT/table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
AT="$BUILD_DIR/bin/approxtune"
OUT=${OUT:-runs/compare_predictive}
MODEL=${MODEL:-vgg}
SEED=${SEED:-1}
QOS_LOSS=${QOS_LOSS:-2}
EMPIRICAL_ITERATIONS=${EMPIRICAL_ITERATIONS:-2000}
VALIDATE=${VALIDATE:-30}
RUNS=${RUNS:-"empirical pi2 pi1"}
COMMON=(--app "dnn:$MODEL" --qos-loss "$QOS_LOSS" --tune-images "${TUNE_IMAGES:-1000}"
        --timing-images "${TIMING_IMAGES:-250}" --timing-repeats "${TIMING_REPEATS:-3}"
        --seed "$SEED" --iterations "$EMPIRICAL_ITERATIONS" ${EXTRA_ARGS:-})
mkdir -p "$OUT"
for r in $RUNS; do
  [ "${SKIP_TUNE:-0}" = 1 ] && continue
  rm -rf "${OUT:?}/$r"
  case $r in
    empirical) args=(--strategy auto) ;;
    pi2) args=(--strategy predictive --strategy-params "{\"qos_model\": \"pi2\", \"validate\": $VALIDATE}") ;;
    pi1) rm -f "$OUT/pi1_outputs.bin"
         args=(--strategy predictive --strategy-params
               "{\"qos_model\": \"pi1\", \"validate\": $VALIDATE, \"output_profile\": \"$OUT/pi1_outputs.bin\"}") ;;
    *) echo "unknown run '$r' (empirical, pi2, pi1)" >&2; exit 2 ;;
  esac
  echo "== $r: $AT tune ${COMMON[*]} ${args[*]} --out $OUT/$r (started $(date -u +%H:%M:%S) UTC)"
  t0=$(date +%s.%N)
  "$AT" tune "${COMMON[@]}" "${args[@]}" --out "$OUT/$r" | tee "$OUT/$r.tune.txt"
  t1=$(date +%s.%N)
  echo "$t0 $t1" > "$OUT/$r.wall"
done
if [ "${REPORT:-0}" = 1 ]; then
  for r in $RUNS; do
    echo "== dnn-report $r (started $(date -u +%H:%M:%S) UTC)"
    "$AT" dnn-report --model "$MODEL" --configs "$OUT/$r/configs.json" --timing-images 1000 --repeats 11 \
      | tee "$OUT/$r.report.txt"
  done
fi
python3 - "$OUT" $RUNS <<'EOF' | tee "$OUT/table.md"
import json, re, sqlite3, sys
out, runs = sys.argv[1], sys.argv[2:]
rows = {}
for r in runs:
    text = open(f"{out}/{r}.tune.txt").read()
    t0, t1 = map(float, open(f"{out}/{r}.wall").read().split())
    # Tuning wall time: from the command's start to its last tune-split evaluation (the store's
    # wall-clock timestamp), i.e. without the test phase that re-measures the final front.
    con = sqlite3.connect(f"file:{out}/{r}/results.db?mode=ro", uri=True)
    t_tune = con.execute("select max(at) from evaluations where split = 0").fetchone()[0]
    con.close()
    ev = int(re.search(r"evaluations: (\d+)", text).group(1))
    rep = re.search(r"strategy report: (.*)", text)
    rep = json.loads(rep.group(1)) if rep else {}
    cj = json.load(open(f"{out}/{r}/configs.json"))
    base = cj["baseline"]["test_qos"]
    best = {}
    for loss in (1, 2):
        ok = [c for c in cj["configs"] if c.get("test_qos") is not None and c["test_qos"] >= base - loss - 1e-9]
        c = max(ok, key=lambda c: c["speedup"], default=None)
        best[loss] = (c["speedup"], c["test_qos"]) if c and c["speedup"] > 1.0 else (1.0, base)
    if "phases" in rep:
        ph = rep["phases"]
        prof = ph["profiling"]["measured"] + ph["profiling"]["cached"]
        val = ph["validation"]["measured"] + ph["validation"]["cached"]
        phases = f"baseline 1 + profiling {prof - 1} + validation {val}"
        if "output_passes" in ph["profiling"]:
            kept = ph['profiling'].get('outputs_from_profiling', 0)
            phases += (f" (+ {ph['profiling']['output_passes']} output passes, {ph['profiling']['output_seconds']:.1f} s"
                       + (f"; {kept} outputs kept from profiling" if kept else "") + ")")
        phases += f"; model search {ph['model_search']['predictions']} predictions in {ph['model_search']['seconds']:.2f} s"
    else:
        phases = f"search {ev}"
    retimed = {}
    try:
        for line in open(f"{out}/{r}.report.txt"):
            m = re.search(r"loss <= ([\d.]+) point\(s\): ([\d.]+)x \(config \d+, accuracy ([\d.]+)%\)", line)
            if m: retimed[round(float(m.group(1)))] = f"{float(m.group(2)):.3f}x ({float(m.group(3)):.2f} %)"
            elif re.search(r"loss <= ([\d.]+) point\(s\): none", line):
                retimed[round(float(re.search(r"<= ([\d.]+)", line).group(1)))] = "1.000x (baseline only)"
    except FileNotFoundError:
        pass
    rows[r] = dict(ev=ev, wall=t1 - t0, tune_wall=t_tune - t0, best=best, phases=phases, base=base, retimed=retimed)
print("| run | real tune-split evaluations | per phase | wall time (s) | tuning wall time (s) | best speedup, test loss <= 1 pt (test acc.) | best speedup, test loss <= 2 pt (test acc.) | re-timed (dnn-report), <= 1 pt | re-timed, <= 2 pt |")
print("|---|---|---|---|---|---|---|---|---|")
for r in runs:
    x = rows[r]
    print(f"| {r} | {x['ev']} | {x['phases']} | {x['wall']:.0f} | {x['tune_wall']:.0f} | {x['best'][1][0]:.3f}x ({x['best'][1][1]:.2f} %) | {x['best'][2][0]:.3f}x ({x['best'][2][1]:.2f} %) | {x['retimed'].get(1, '-')} | {x['retimed'].get(2, '-')} |")
if "empirical" in rows:
    e = rows["empirical"]
    print()
    for r in runs:
        if r == "empirical": continue
        x = rows[r]
        print(f"- {r} vs empirical: {e['ev'] / x['ev']:.1f}x fewer real tune-split evaluations, "
              f"{e['wall'] / x['wall']:.1f}x less wall time ({e['tune_wall'] / x['tune_wall']:.1f}x without "
              f"the test phase); best test speedup at <= 1 pt "
              f"{100 * (x['best'][1][0] / e['best'][1][0] - 1):+.1f} %, at <= 2 pt {100 * (x['best'][2][0] / e['best'][2][0] - 1):+.1f} %")
EOF

# How good are the models? Pi-1 (from the kept output profile) and Pi-2 (from the profiling
# run's single-op QoS) predictions against the QoS measured for every multi-op configuration
# of each run (the empirical run's 2,000 are the most telling).
if [ -f "$OUT/pi1_outputs.bin" ] && [ -f "$OUT/pi1/results.db" ]; then
  for r in $RUNS; do
    echo "model error on the $r run's configurations:"
    python3 - "$OUT/pi1_outputs.bin" "$OUT/pi1/results.db" "$OUT/$r/results.db" "${TUNE_IMAGES:-1000}" "$QOS_LOSS" <<'EOF2'
# Pi-1 and Pi-2 prediction error on every configuration a run measured on the tune split.
# usage: model_error.py <pi1_outputs.bin> <results.db of the profiling run> <results.db to check> <tune images> <threshold loss>
import gzip, json, sqlite3, struct, sys, array
prof_file, prof_db, check_db, n_img, loss = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
with open(prof_file, "rb") as f:
    head = json.loads(f.readline())
    size = head["key"]["output_size"]
    outs = []
    for _ in head["configs"]:
        a = array.array("f"); a.fromfile(f, size); outs.append(a)
codes = [tuple(c) for c in head["configs"]]
base = [float(v) for v in outs[0]]
delta = {}
for c, o in zip(codes[1:], outs[1:]):
    op = next(i for i, k in enumerate(c) if k != 0)
    delta[(op, c[op])] = [float(v) - b for v, b in zip(o, base)]
labels = gzip.open("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz").read()[8:8 + n_img]
k = size // n_img
def acc(out):
    ok = 0
    for i in range(n_img):
        row = out[i * k:(i + 1) * k]
        ok += row.index(max(row)) == labels[i]
    return 100.0 * ok / n_img
def rows(db):
    con = sqlite3.connect(db)
    for code, qos in con.execute("select code, qos from evaluations where split = 0 and status = 0 and qos is not null order by id"):
        yield tuple(struct.unpack("<%dH" % (len(code) // 2), code)), qos
single = {}
base_qos = None
for c, q in rows(prof_db):
    nz = [i for i, v in enumerate(c) if v != 0]
    if not nz: base_qos = q
    elif len(nz) == 1: single[(nz[0], c[nz[0]])] = q
assert abs(acc(base) - base_qos) < 1e-9, (acc(base), base_qos)
thr = base_qos - loss
seen = set(); e1 = []; e2 = []; agree1 = agree2 = 0; multi = 0
for c, q in rows(check_db):
    if c in seen: continue
    seen.add(c)
    nz = [i for i, v in enumerate(c) if v != 0]
    if len(nz) < 2: continue
    multi += 1
    out = list(base)
    for i in nz:
        d = delta[(i, c[i])]
        out = [a + b for a, b in zip(out, d)]
    p1 = acc(out)
    p2 = base_qos + sum(single[(i, c[i])] - base_qos for i in nz)
    e1.append(abs(p1 - q)); e2.append(abs(p2 - q))
    agree1 += (p1 >= thr) == (q >= thr); agree2 += (p2 >= thr) == (q >= thr)
def med(v): v = sorted(v); return v[len(v) // 2]
print(f"{multi} measured configurations with >= 2 approximated ops (tune split, {n_img} images):")
print(f"  Pi-1: mean |predicted - measured| {sum(e1)/len(e1):.3f} pt, median {med(e1):.3f}, max {max(e1):.2f}; feasibility (loss <= {loss:g}) right for {100*agree1/multi:.1f} %")
print(f"  Pi-2: mean |predicted - measured| {sum(e2)/len(e2):.3f} pt, median {med(e2):.3f}, max {max(e2):.2f}; feasibility (loss <= {loss:g}) right for {100*agree2/multi:.1f} %")
EOF2
  done | tee "$OUT/model_error.txt"
fi
