// File-system helpers without a shell: removing a tree that adbench created, and temporary
// names that cannot collide between concurrent runs.
#pragma once

// Removes path and everything below it (nftw, depth first, never following symlinks nor
// crossing mount points). Returns 0, or -1 with ad_error naming the first entry it could not
// remove. Only ever called on folders adbench created itself (mkdtemp / fs_tmp_name).
int fs_rm_tree(const char *path);
// "<base>.tmp.<pid>.<random>" (malloc'd): unique per process and call.
char *fs_tmp_name(const char *base);
// mkdtemp("<base>.tmp.<pid>.XXXXXX"): a fresh folder that this process created (malloc'd
// path), or NULL with ad_error.
char *fs_mkdtemp(const char *base);
// mkdir -p path (0777 & umask). 0, or -1 with ad_error naming the folder.
int fs_mkdirs(const char *path);
// Writes text to a temporary name beside path (flushed and fsynced), then renames it into
// place: readers see the old file or the whole new one. 0, or -1 with ad_error naming path.
int fs_write_text_atomic(const char *path, const char *text);
