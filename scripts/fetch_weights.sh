#!/usr/bin/env bash
# Download the backbone weights adbench uses and check their SHA-256 against
# scripts/weights.sha256 (for users with internet; nothing here runs in the tests).
#
#   bash scripts/fetch_weights.sh [DIR] [NAME...]     (default DIR: weights/, default: all)
#
# NAMEs: dinov2-small dinov2-base dinov2-large dinov2-giant clip-openai clip-hf
#   dinov2-*     Hugging Face facebook/dinov2-* model.safetensors (Dinov2Model names; read as is)
#   clip-openai  OpenAI's ViT-L-14-336px.pt (what MuSc loads through open_clip 'openai'); converted
#                to clip-vit-l14-336.safetensors with scripts/convert_weights.py (needs torch)
#   clip-hf      Hugging Face openai/clip-vit-large-patch14-336 model.safetensors (CLIPModel
#                names; read as is, no torch needed); its hash is not pinned yet (printed)
# A file whose hash does not match is renamed to NAME.bad and the script exits 1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-weights}"
[ $# -gt 0 ] && shift
want=("$@")
[ ${#want[@]} -eq 0 ] && want=(dinov2-small dinov2-base dinov2-large dinov2-giant clip-openai clip-hf)
mkdir -p "$dir"

fetch() {  # fetch FILE URL SHA STATUS
    local file="$dir/$1" url="$2" sha="$3" status="$4"
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
            echo "error: $file: SHA-256 $got, expected $sha (from scripts/weights.sha256). Moved to $file.bad; re-run to download again." >&2
            exit 1
        fi
        echo "ok  $file  sha256 $got (verified)"
    else
        echo "??  $file  sha256 $got (no published value to compare with; pin it in scripts/weights.sha256)"
    fi
}

entry() {  # entry FILE -> "sha url status"
    awk -v f="$1" '$1 == f { print $2, $3, $4 }' "$here/weights.sha256"
}

for name in "${want[@]}"; do
    case "$name" in
    dinov2-small | dinov2-base | dinov2-large | dinov2-giant)
        read -r sha url status <<<"$(entry "$name.safetensors")"
        fetch "$name.safetensors" "$url" "$sha" "$status" ;;
    clip-openai)
        read -r sha url status <<<"$(entry ViT-L-14-336px.pt)"
        fetch ViT-L-14-336px.pt "$url" "$sha" "$status"
        if [ ! -s "$dir/clip-vit-l14-336.safetensors" ]; then
            python3 "$here/convert_weights.py" "$dir/ViT-L-14-336px.pt" "$dir/clip-vit-l14-336.safetensors" --vision-only
        fi ;;
    clip-hf)
        read -r sha url status <<<"$(entry clip-vit-large-patch14-336.safetensors)"
        fetch clip-vit-large-patch14-336.safetensors "$url" "$sha" "$status" ;;
    *) echo "error: unknown weights '$name'; expected: dinov2-small dinov2-base dinov2-large dinov2-giant clip-openai clip-hf" >&2; exit 1 ;;
    esac
done
