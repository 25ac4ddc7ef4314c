// scripts/fetch_weights.sh without network: --help, usage errors (exit 2, nothing created),
// --dry-run (URLs and target files, nothing downloaded or created), and every
// `fetch_weights.sh ...` invocation written in configs/*.yaml, README.md and docs/*.md must be
// accepted by the script (run with --dry-run).
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "util_test.h"

static char *script_path(void) {
    char cwd[4096];
    cr_assert(getcwd(cwd, sizeof cwd));
    return ad_sprintf("%s/scripts/fetch_weights.sh", cwd);
}

// Run the script with ARGS inside a fresh empty folder; *n_entries = what it left there.
static int run_in_empty(const char *args, char **out, char **err, int *n_entries) {
    char *dir = make_tmpdir("fw");
    char *s = script_path();
    char *cmd = ad_sprintf("cd '%s' && bash '%s' %s", dir, s, args);
    int rc = run_capture(cmd, out, err);
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    *n_entries = n;
    rm_rf(dir);
    free(dir);
    free(s);
    free(cmd);
    return rc;
}

Test(scripts, fetch_weights_help) {
    char *out, *err;
    int n;
    int rc = run_in_empty("--help", &out, &err, &n);
    cr_assert_eq(rc, 0, "rc %d, stderr: %s", rc, err);
    cr_assert(strstr(out, "usage: bash scripts/fetch_weights.sh [--out DIR] [--dry-run] NAME..."), "%s", out);
    cr_assert(strstr(out, "clip-hf") && strstr(out, "dinov2-large"), "%s", out);
    cr_assert_eq(n, 0, "--help created %d entries in the working folder", n);
    free(out), free(err);
    rc = run_in_empty("-h", &out, &err, &n);
    cr_assert_eq(rc, 0);
    cr_assert_eq(n, 0);
    free(out), free(err);
}

Test(scripts, fetch_weights_usage_errors) {
    const char *bad[] = {"bogus", "", "weights clip-hf", "--out", "--zap clip-hf", "clip-hf nope"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *out, *err;
        int n;
        int rc = run_in_empty(bad[i], &out, &err, &n);
        cr_assert_eq(rc, 2, "'%s': rc %d (expected the usage error 2), stderr: %s", bad[i], rc, err);
        cr_assert(strstr(err, "fetch_weights: error: ") && strstr(err, "Fix:"), "'%s': %s", bad[i], err);
        int nl = 0;
        for (const char *c = err; *c; c++) nl += *c == '\n';
        cr_assert_eq(nl, 1, "'%s': not one line: %s", bad[i], err);
        cr_assert_eq(n, 0, "'%s' created %d entries", bad[i], n);
        cr_assert(!strstr(out, "downloading"), "'%s': %s", bad[i], out);
        free(out), free(err);
    }
}

Test(scripts, fetch_weights_dry_run) {
    char *out, *err;
    int n;
    int rc = run_in_empty("--dry-run --out w clip-hf dinov2-large", &out, &err, &n);
    cr_assert_eq(rc, 0, "stderr: %s", err);
    cr_assert(strstr(out, "https://huggingface.co/openai/clip-vit-large-patch14-336/resolve/main/model.safetensors -> "
                          "w/clip-vit-large-patch14-336.safetensors"),
              "%s", out);
    cr_assert(strstr(out, "facebook/dinov2-large/resolve/main/model.safetensors -> w/dinov2-large.safetensors"), "%s", out);
    cr_assert(!strstr(out, "dinov2-small"), "downloads more than asked: %s", out);
    cr_assert_eq(n, 0, "--dry-run created %d entries", n);
    free(out), free(err);
    rc = run_in_empty("clip-openai --dry-run", &out, &err, &n);
    cr_assert_eq(rc, 0, "stderr: %s", err);
    cr_assert(strstr(out, "-> weights/ViT-L-14-336px.pt") && strstr(out, "weights/clip-vit-l14-336.safetensors"), "%s", out);
    cr_assert_eq(n, 0);
    free(out), free(err);
    rc = run_in_empty("--dry-run all", &out, &err, &n);
    cr_assert_eq(rc, 0, "stderr: %s", err);
    int lines = 0;
    for (const char *p = out; (p = strstr(p, "would download ")); p++) lines++;
    cr_assert_eq(lines, 8, "%s", out);  // 4 DINOv2, 2 CLIP, 2 torchvision ResNets
    free(out), free(err);
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

// Every "fetch_weights.sh ARGS" written in the user-facing text must run (--dry-run).
static int check_file(const char *path) {
    char *txt = slurp(path, NULL);
    if (!txt) return 0;
    int checked = 0;
    for (char *p = txt; (p = strstr(p, "fetch_weights.sh")); p++) {
        const char *a = p + strlen("fetch_weights.sh");
        size_t len = strcspn(a, "\n#`;()|&<>\"'");
        char args[512];
        if (len >= sizeof args) len = sizeof args - 1;
        memcpy(args, a, len);
        args[len] = 0;
        int has = 0;
        for (char *c = args; *c; c++) {
            cr_assert(isalnum((unsigned char)*c) || strchr(" _./-=", *c), "%s: odd character in 'fetch_weights.sh%s'", path,
                      args);
            has |= !isspace((unsigned char)*c);
        }
        // "[--out DIR] NAME..." in a usage line is the synopsis itself, not a call.
        if (!has || strstr(args, "...") || strstr(args, "[")) continue;
        if (strstr(a, "[--out DIR]") == a + 1) continue;
        char *argv = ad_sprintf("--dry-run %s", args);
        char *out, *err;
        int n;
        int rc = run_in_empty(argv, &out, &err, &n);
        cr_assert_eq(rc, 0, "%s: 'fetch_weights.sh%s' is rejected by the script: %s", path, args, err);
        cr_assert_eq(n, 0);
        free(out), free(err), free(argv);
        checked++;
    }
    free(txt);
    return checked;
}

Test(scripts, fetch_weights_documented_calls_are_valid) {
    int checked = check_file("README.md");
    const char *dirs[] = {"configs", "docs"};
    for (int k = 0; k < 2; k++) {
        DIR *d = opendir(dirs[k]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!ends_with(e->d_name, ".yaml") && !ends_with(e->d_name, ".md")) continue;
            char *p = ad_sprintf("%s/%s", dirs[k], e->d_name);
            checked += check_file(p);
            free(p);
        }
        if (d) closedir(d);
    }
    cr_assert_geq(checked, 2, "expected the README and the configs to show fetch_weights.sh calls (found %d)", checked);
}

// The demo's closing hints: no comparison of its pixel-backbone run with a published table
// (compare refuses those), a run-vs-run comparison instead, and what each row shows.
Test(scripts, demo_hints_are_valid_comparisons) {
    char *txt = slurp("scripts/demo.sh", NULL);
    cr_assert(txt);
    cr_assert(!strstr(txt, "compare $OUT/results.csv results/published"), "demo suggests an invalid comparison");
    cr_assert(strstr(txt, "compare ${OUT}_rerun/results.csv $OUT/results.csv"), "no run-vs-run hint");
    cr_assert(strstr(txt, "mvtec/screw") && strstr(txt, "near chance") && strstr(txt, "synth/woven"),
              "the demo must explain its rows");
    free(txt);
}

// torchvision files: the 8 hex digits in the file name are checked against the file's SHA-256
// (offline: a file already in --out is not downloaded again, only checked).
Test(scripts, fetch_weights_checks_torchvision_hash_prefix) {
    char *dir = make_tmpdir("fw-prefix"), *s = script_path();
    char *pth = ad_sprintf("%s/resnet18-f37072fd.pth", dir);
    write_text(pth, "not the torchvision checkpoint");
    char *cmd = ad_sprintf("bash '%s' --out '%s' resnet18", s, dir), *out, *err;
    int rc = run_capture(cmd, &out, &err);
    cr_expect_eq(rc, 1, "a wrong file must fail the check (rc %d): %s", rc, err);
    cr_expect(strstr(err, "does not start with f37072fd"), "%s", err);
    char *bad = ad_sprintf("%s.bad", pth);
    cr_expect(access(bad, F_OK) == 0 && access(pth, F_OK) != 0, "the file must be moved to .bad");
    free(out), free(err), free(cmd), free(bad), free(pth), free(s);
    rm_rf(dir);
    free(dir);
}
