#!/bin/sh
# End-to-end: the attacker's patch + tdxbot's draft reply in one thread;
# `b4 am` (what a maintainer runs) takes the trailer from the bot's reply.
set -e
cd "$(dirname "$0")/out"
for n in a01 a02; do
  d=$(ls $n-drafts/*.eml | head -1)
  { printf 'From nobody Mon Sep 14 09:00:00 2026\n'; cat $n.eml; printf '\nFrom nobody Mon Sep 14 09:00:00 2026\n'; cat "$d"; } > $n-thread.mbox
  rm -rf $n-am; mkdir $n-am
  (cd $n-am && git init -q . && HOME=$PWD ../../../.venv/bin/b4 -q am -m ../$n-thread.mbox -o . $n@example.org 2>&1 | tail -5)
  echo "== $n: trailers in the am-ready mbox"; grep -h -E '^(Reviewed-by|Signed-off-by)' $n-am/*.mbx
done
