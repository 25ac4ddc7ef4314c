#!/usr/bin/env bash
# Download the backbone weights adbench uses and check their SHA-256 against
# scripts/weights.sha256 (for machines with internet; the tests only run --help, --dry-run
# and error cases, which never download).
#
# usage: bash scripts/fetch_weights.sh [--out DIR] [--dry-run] NAME...
#
#   --out DIR    where the files go (default: weights/, what configs/*.yaml expect)
#   --dry-run    print each URL and the file it would be saved as; download nothing,
#                create nothing
#   -h, --help   this text
#
# NAMEs (one or more; "all" = every one):
#   dinov2-small dinov2-base dinov2-large dinov2-giant
#                Hugging Face facebook/dinov2-* model.safetensors, saved as DIR/<NAME>.safetensors
#                (Dinov2Model tensor names; read as is)
#   clip-hf      Hugging Face openai/clip-vit-large-patch14-336 model.safetensors, saved as
#                DIR/clip-vit-large-patch14-336.safetensors (CLIPModel names; read as is, no
#                torch needed); its hash is not pinned yet (printed so you can pin it)
#   clip-openai  OpenAI's ViT-L-14-336px.pt (what MuSc loads through open_clip 'openai'),
#                converted to DIR/clip-vit-l14-336.safetensors by scripts/convert_weights.py
#                (needs torch)
#   resnet18 wide_resnet50_2
#                torchvision's ImageNet IMAGENET1K_V1 checkpoints (resnet18-f37072fd.pth,
#                wide_resnet50_2-95faca4d.pth; the 8 hex digits in the name are the start of the
#                file's SHA-256, checked as torch.hub does), converted to DIR/<NAME>.safetensors
#                by scripts/convert_weights.py (needs torch; BatchNorm kept, folded by adbench)
#
# Examples:
#   bash scripts/fetch_weights.sh dinov2-large clip-hf
#   bash scripts/fetch_weights.sh --out /data/weights all
#
# A file whose hash does not match is renamed to FILE.bad and the script exits 1.
# Exit status: 0 done, 1 a download or check failed, 2 usage error (nothing created).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
NAMES="dinov2-small dinov2-base dinov2-large dinov2-giant clip-hf clip-openai resnet18 wide_resnet50_2"

usage() { awk 'NR >= 6 { if (!/^#/) exit; sub(/^# ?/, ""); print }' "$0"; }
die_usage() {
    echo "fetch_weights: error: $*. Fix: see bash scripts/fetch_weights.sh --help" >&2
    exit 2
}

dir=weights
dry=0
want=()
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --out)
        [ $# -ge 2 ] && [ -n "$2" ] || die_usage "--out expects a folder"
        dir="$2"; shift 2 ;;
    --out=*) dir="${1#--out=}"; [ -n "$dir" ] || die_usage "--out expects a folder"; shift ;;
    --dry-run) dry=1; shift ;;
    --) shift; want+=("$@"); break ;;
    -*) die_usage "unknown option '$1'; expected --out DIR, --dry-run or --help" ;;
    *) want+=("$1"); shift ;;
    esac
done
[ ${#want[@]} -gt 0 ] || die_usage "no weights named; expected one or more of: $NAMES (or all)"
expanded=()
for name in "${want[@]}"; do
    if [ "$name" = all ]; then
        read -r -a all <<<"$NAMES"
        expanded+=("${all[@]}")
        continue
    fi
    case " $NAMES " in
    *" $name "*) expanded+=("$name") ;;
    *)
        if [ -d "$name" ] || [[ "$name" == */* ]]; then
            die_usage "unknown weights '$name' (looks like a folder: the output folder is given with --out DIR); expected: $NAMES (or all)"
        fi
        die_usage "unknown weights '$name'; expected: $NAMES (or all)" ;;
    esac
done

entry() {  # entry FILE -> "sha url status"
    awk -v f="$1" '$1 == f { print $2, $3, $4 }' "$here/weights.sha256"
}

fetch() {  # fetch FILE URL SHA STATUS
    local file="$dir/$1" url="$2" sha="$3" status="$4"
    if [ "$dry" = 1 ]; then
        echo "would download $url -> $file (sha256 $status)"
        return
    fi
    mkdir -p "$dir"
    if [ ! -s "$file" ]; then
        echo "downloading $url"
        if command -v curl >/dev/null; then curl -L --fail --retry 3 -o "$file.part" "$url"
        else wget -O "$file.part" "$url"; fi
        mv "$file.part" "$file"
    fi
    local got
    got="$(sha256sum "$file" | cut -d' ' -f1)"
    if [ "$status" = verified ]; then
        if [ "$got" != "$sha" ]; then
            mv "$file" "$file.bad"
            echo "fetch_weights: error: $file: SHA-256 $got, expected $sha (from scripts/weights.sha256). Moved to $file.bad; re-run to download again." >&2
            exit 1
        fi
        echo "ok  $file  sha256 $got (verified)"
    elif [ "$status" = prefix ]; then  # torchvision: the file name carries the first 8 hex digits
        if [ "${got:0:${#sha}}" != "$sha" ]; then
            mv "$file" "$file.bad"
            echo "fetch_weights: error: $file: SHA-256 $got does not start with $sha (the hash prefix in torchvision's file name). Moved to $file.bad; re-run to download again." >&2
            exit 1
        fi
        echo "ok  $file  sha256 $got (starts with $sha, as its name says)"
    else
        echo "??  $file  sha256 $got (no published value to compare with; pin it in scripts/weights.sha256)"
    fi
}

for name in "${expanded[@]}"; do
    case "$name" in
    dinov2-small | dinov2-base | dinov2-large | dinov2-giant)
        read -r sha url status <<<"$(entry "$name.safetensors")"
        fetch "$name.safetensors" "$url" "$sha" "$status" ;;
    clip-openai)
        read -r sha url status <<<"$(entry ViT-L-14-336px.pt)"
        fetch ViT-L-14-336px.pt "$url" "$sha" "$status"
        if [ "$dry" = 1 ]; then
            echo "would convert $dir/ViT-L-14-336px.pt -> $dir/clip-vit-l14-336.safetensors (scripts/convert_weights.py, needs torch)"
        elif [ ! -s "$dir/clip-vit-l14-336.safetensors" ]; then
            python3 "$here/convert_weights.py" "$dir/ViT-L-14-336px.pt" "$dir/clip-vit-l14-336.safetensors" --vision-only
        fi ;;
    clip-hf)
        read -r sha url status <<<"$(entry clip-vit-large-patch14-336.safetensors)"
        fetch clip-vit-large-patch14-336.safetensors "$url" "$sha" "$status" ;;
    resnet18 | wide_resnet50_2)
        pth=$(awk -v n="$name" 'index($1, n "-") == 1 { print $1 }' "$here/weights.sha256")
        read -r sha url status <<<"$(entry "$pth")"
        fetch "$pth" "$url" "$sha" "$status"
        if [ "$dry" = 1 ]; then
            echo "would convert $dir/$pth -> $dir/$name.safetensors (scripts/convert_weights.py, needs torch)"
        elif [ ! -s "$dir/$name.safetensors" ]; then
            python3 "$here/convert_weights.py" "$dir/$pth" "$dir/$name.safetensors"
        fi ;;
    esac
done
