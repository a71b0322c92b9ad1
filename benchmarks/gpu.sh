#!/usr/bin/env bash
# Every chapter in the `full` profile on a lent GPU machine, and the anchors, in one prepared run.
#
#   bash benchmarks/gpu.sh prepare [MNIST_FOLDER]   # here, once: what the GPU machine lacks
#   bash benchmarks/gpu.sh run [--tiny]             # there (or here, --tiny: a CPU smoke run)
#
# The GPU machine gets a copy of the working tree (64 MiB at most) and nothing beside it, and it
# has no network. `prepare` therefore gzips the four MNIST files (about 11 MB) into .gpu-data/ and
# downloads, as wheels for the machine's Python 3.12, the packages the chapters need that its
# image lacks into .whl/; both folders are listed in .git/info/exclude, so they travel only when
# the device call names them in `carry` (carry: [".gpu-data", ".whl"]). `run` unpacks them,
# executes every chapter at once (benchmarks/chapters.py, one kernel and run cache each), trains
# the anchor network (benchmarks/anchor.py) and times the classic pipeline against regutils on
# the same device (benchmarks/speed.py), writing everything to $OUT (or gpu-results/). Budget: the
# chapters take about 5 minutes on an H200 with 16 cores, the anchors about 2, which leaves room for
# one rerun in 15 minutes. `run --tiny` does the same at the quick profile with two chapters.
set -euo pipefail
cd "$(dirname "$0")/.."
verb=${1:-run}
case "$verb" in
prepare)
  source=${2:-../shared/mnist}
  mkdir -p .gpu-data .whl
  for name in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    gzip -c "$source/MNIST/raw/$name" > ".gpu-data/$name.gz"
  done
  for folder in /.gpu-data/ /.whl/; do
    grep -qxF "$folder" .git/info/exclude 2>/dev/null || echo "$folder" >> .git/info/exclude
  done
  # Not in the machine's image (its package list is in the device tool's KINDS.md), pinned as in
  # requirements.txt; each without its dependencies, which the image has or this list names.
  missing="ipywidgets widgetsnbextension jupyterlab-widgets comm mlxtend optuna alembic sqlalchemy
    colorlog mako greenlet nbformat fastjsonschema jsonschema jsonschema-specifications referencing
    rpds-py nbclient jupyter-client jupyter-core ipykernel ipython ipython-pygments-lexers jedi parso
    prompt-toolkit wcwidth stack-data asttokens executing pure-eval decorator pexpect ptyprocess
    traitlets matplotlib-inline tornado pyzmq debugpy nest-asyncio platformdirs"
  for name in $missing; do
    pin=$(grep -i "^${name}==" requirements.txt | head -1 | cut -d';' -f1)
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
      --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d .whl "${pin:-$name}"
  done
  du -sh .gpu-data .whl
  ;;
run)
  tiny=${2:-}
  out=${OUT:-gpu-results}
  mkdir -p "$out"
  export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
  if [ -d .whl ] && ls .whl/*.whl > /dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
    export PYTHONPATH="$PYTHONPATH:/tmp/site"
    python3 -m ipykernel install --user --name python3 > /dev/null
  fi
  if [ -d .gpu-data ]; then
    mkdir -p /tmp/mnist/MNIST/raw
    for file in .gpu-data/*.gz; do gunzip -c "$file" > "/tmp/mnist/MNIST/raw/$(basename "$file" .gz)"; done
    export REGUTILS_DATA=/tmp/mnist
  fi
  if [ "$tiny" = "--tiny" ]; then
    profile=quick chapters="chapters/01_overfitting.ipynb chapters/04_dropout.ipynb" anchor=--quick speed=--quick
  else
    profile=full chapters="" anchor="" speed="--device cuda --batch-sizes 64 --repeats 1 --no-loop-row"
  fi
  python3 benchmarks/chapters.py --profile "$profile" --jobs 11 --out "$out/chapters" $chapters \
    2>&1 | tee "$out/chapters.log"
  python3 benchmarks/anchor.py $anchor 2>&1 | tee "$out/anchor.log"
  python3 benchmarks/speed.py $speed 2>&1 | tee "$out/speed.log"
  ;;
*)
  echo "usage: bash benchmarks/gpu.sh prepare [MNIST_FOLDER] | run [--tiny]" >&2
  exit 2
  ;;
esac
