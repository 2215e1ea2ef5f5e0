#!/bin/bash
# Guest script of `bench/compare --fio` (runs inside the linux-nfs-client VM
# as root, cwd = the NFS mount): fio through the real Linux NFS client.
# Args: $1 mount, $2 seconds per job, $3 jobs (fio numjobs).
# Leaves one fio JSON report per workload in $LNC_OUT (copied back to the
# host) and prints one line per workload.
set -eu
MNT=$1 SECONDS_PER_JOB=$2 JOBS=$3
cd "$MNT"
common="--ioengine=libaio --direct=1 --time_based --runtime=$SECONDS_PER_JOB --numjobs=$JOBS
        --group_reporting --output-format=json --directory=$MNT"
run() {  # NAME FIO-ARGS...
    local name=$1; shift
    # shellcheck disable=SC2086
    fio --name="$1" "${@:2}" $common --output="$LNC_OUT/$name.json"
    echo "fio $name done"
}
# The 4 KiB jobs share their files (job name r4k), as do the 1 MiB ones (s1m):
# the read runs find them laid out by fio (or written by the write run).
run randread4k  r4k --rw=randread  --bs=4k --size=32M --iodepth=16
run randwrite4k r4k --rw=randwrite --bs=4k --size=32M --iodepth=16
run seqwrite1m  s1m --rw=write     --bs=1M --size=128M --iodepth=4
run seqread1m   s1m --rw=read      --bs=1M --size=128M --iodepth=4
