#!/usr/bin/env bash
# Download and unpack the benchmark datasets into data/ (for machines with internet access).
#
#   scripts/fetch_datasets.sh [--dir DATA] NAME...     NAME: mvtec visa btad rad mpdd all
#
# Resulting roots (what configs/*.yaml expect):
#   data/mvtec_anomaly_detection/<category>/...      MVTec AD (CC BY-NC-SA 4.0)
#   data/VisA/<object>/Data/..., data/VisA/split_csv/1cls.csv
#                                                    VisA raw layout (CC BY 4.0). No prepare step:
#                                                    adbench's visa adapter reads the raw tree and
#                                                    split_csv/1cls.csv directly.
#   data/BTech_Dataset_transformed/01|02|03/...     BTAD (CC BY-NC-SA 4.0)
#   data/RAD-dataset/<bolt|ribbon|sponge|tape>/...  RAD (CC BY 4.0), manual download
#   data/MPDD/<category>/...                         MPDD (CC BY-NC-SA 4.0), manual download
#
# Checksums. The sha256 sums below are the ones anomalib pins for the same URLs
# (open-edge-platform/anomalib, src/anomalib/data/datamodules/image/{mvtecad,visa,btech}.py,
# DownloadInfo.hashsum); an archive that does not match is rejected. RAD and MPDD are only
# published on Google Drive / Baidu, with no published checksum: put the archive you downloaded
# in DATA/downloads/ and this script unpacks it and RECORDS its sha256 in
# DATA/checksums.recorded (compute-and-record: it cannot be verified against a published value).
# Every archive's sha256 is also appended to DATA/checksums.recorded.
set -euo pipefail

DATA=data
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) DATA="$2"; shift 2 ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        *) ARGS+=("$1"); shift ;;
    esac
done
[ ${#ARGS[@]} -gt 0 ] || { sed -n '2,26p' "$0"; exit 1; }
[ "${ARGS[0]}" = all ] && ARGS=(mvtec visa btad rad mpdd)

DL="$DATA/downloads"
mkdir -p "$DL"

die() { echo "fetch_datasets: error: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
fetch() {  # url out
    if [ -s "$2" ]; then echo "  have $2"; return; fi
    echo "  downloading $1"
    if have curl; then curl -fL --retry 3 -o "$2.part" "$1"; else wget -O "$2.part" "$1"; fi
    mv "$2.part" "$2"
}
check() {  # file expected_sha256 (empty = record only)
    local got
    got=$(sha256sum "$1" | cut -d' ' -f1)
    echo "$got  $(basename "$1")" >> "$DATA/checksums.recorded"
    if [ -n "$2" ] && [ "$got" != "$2" ]; then
        die "$1: sha256 $got, expected $2 (anomalib's pinned sum). Fix: delete it and rerun; the server copy may have changed"
    fi
    [ -n "$2" ] && echo "  sha256 ok ($got)" || echo "  sha256 recorded (no published sum): $got"
}

mvtec() {
    local f="$DL/mvtec_anomaly_detection.tar.xz"
    fetch "https://www.mydrive.ch/shares/38536/3830184030e49fe74747669442f0f282/download/420938113-1629952094/mvtec_anomaly_detection.tar.xz" "$f"
    check "$f" cf4313b13603bec67abb49ca959488f7eedce2a9f7795ec54446c649ac98cd3d
    mkdir -p "$DATA/mvtec_anomaly_detection"
    tar -xf "$f" -C "$DATA/mvtec_anomaly_detection"
}

visa() {
    local f="$DL/VisA_20220922.tar"
    fetch "https://amazon-visual-anomaly.s3.us-west-2.amazonaws.com/VisA_20220922.tar" "$f"
    check "$f" 2eb8690c803ab37de0324772964100169ec8ba1fa3f7e94291c9ca673f40f362
    mkdir -p "$DATA/VisA"
    tar -xf "$f" -C "$DATA/VisA"
    # The split file ships in the archive; fetch it from spot-diff if this copy lacks it.
    if [ ! -s "$DATA/VisA/split_csv/1cls.csv" ]; then
        mkdir -p "$DATA/VisA/split_csv"
        fetch "https://raw.githubusercontent.com/amazon-science/spot-diff/main/split_csv/1cls.csv" "$DATA/VisA/split_csv/1cls.csv"
        check "$DATA/VisA/split_csv/1cls.csv" ""
    fi
}

btad() {
    local f="$DL/btad.zip"
    fetch "https://avires.dimi.uniud.it/papers/btad/btad.zip" "$f"
    check "$f" 461c9387e515bfed41ecaae07c50cf6b10def647b36c9e31d239ab2736b10d2a
    have unzip || die "unzip not found (apt-get install unzip)"
    unzip -q -o "$f" -d "$DATA"
    [ -d "$DATA/BTech_Dataset_transformed" ] || die "$f did not unpack to $DATA/BTech_Dataset_transformed"
}

manual() {  # name target_dir hint
    local arch
    arch=$(ls "$DL"/"$1"* 2>/dev/null | head -1 || true)
    if [ -z "$arch" ]; then
        echo "  $1: no public direct link. Download it by hand ($3) into $DL/ (file name starting with '$1'), then rerun."
        return
    fi
    check "$arch" ""
    case "$arch" in
        *.zip) have unzip || die "unzip not found"; unzip -q -o "$arch" -d "$DATA" ;;
        *.tar*|*.tgz) tar -xf "$arch" -C "$DATA" ;;
        *) die "$arch: expected a .zip or .tar archive" ;;
    esac
    [ -d "$DATA/$2" ] || echo "  note: expected $DATA/$2 after unpacking; rename the unpacked folder to that name"
}

for name in "${ARGS[@]}"; do
    echo "== $name"
    case "$name" in
        mvtec) mvtec ;;
        visa) visa ;;
        btad) btad ;;
        rad) manual RAD RAD-dataset "links in the README of github.com/hustCYQ/RAD-dataset" ;;
        mpdd) manual MPDD MPDD "link in the README of github.com/stepanje/MPDD" ;;
        *) die "unknown dataset '$name'; expected mvtec, visa, btad, rad, mpdd or all" ;;
    esac
done
echo "Check a tree with: build/adbench datasets check --dataset mvtec --root $DATA/mvtec_anomaly_detection"
