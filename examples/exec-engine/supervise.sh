#!/bin/sh
# Starts the engine given as arguments as a child process and waits for it,
# as a supervisor, a wrapper script or `npm start` does. The checker must
# kill the engine, not only this wrapper:
#
#   bench-runner crash --kill --disk /tmp --exec-promise none \
#       --exec 'sh examples/exec-engine/supervise.sh python3 examples/exec-engine/kv.py buffered'
"$@"
status=$?
exit "$status"
