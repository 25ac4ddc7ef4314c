// User documentation: every relative link of README.md and docs/*.md points at a file of the
// repository (no ../shared/... links, which a clone does not have), every #anchor at a
// heading of its target (GitHub's slug rule), and the README keeps its two set-up commands.
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backbone.h"
#include "err.h"
#include "method.h"
#include "params.h"
#include "util_test.h"

// GitHub heading slug: lower case, keep letters, digits, '-', '_' and spaces, spaces -> '-'.
static void slug(const char *h, size_t n, char *out, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)h[i];
        if (isalnum(c) || c == '-' || c == '_') out[k++] = (char)tolower(c);
        else if (c == ' ') out[k++] = '-';
        else if (c >= 0x80) continue;  // UTF-8 punctuation such as an em dash is dropped
    }
    out[k] = 0;
}

static int has_anchor(const char *text, const char *anchor) {
    for (const char *p = text; (p = strchr(p, '#')); p++) {
        if (p != text && p[-1] != '\n') continue;
        const char *q = p;
        while (*q == '#') q++;
        if (*q != ' ') continue;
        q++;
        const char *e = strchr(q, '\n');
        char s[256];
        slug(q, e ? (size_t)(e - q) : strlen(q), s, sizeof s);
        if (!strcmp(s, anchor)) return 1;
    }
    return 0;
}

static int check_links(const char *path, const char *dir) {
    char *txt = slurp(path, NULL);
    cr_assert(txt, "%s missing", path);
    int n = 0;
    for (const char *p = txt; (p = strstr(p, "](")); p++) {
        const char *a = p + 2, *e = strchr(a, ')');
        if (!e || e - a > 300) continue;
        char link[320];
        memcpy(link, a, (size_t)(e - a));
        link[e - a] = 0;
        if (strstr(link, "://") || !strncmp(link, "mailto:", 7)) continue;
        cr_assert(!strstr(link, "shared/"), "%s: link to the project's shared folder: %s", path, link);
        char *hash = strchr(link, '#');
        if (hash) *hash++ = 0;
        char *target = *link ? ad_sprintf("%s/%s", dir, link) : ad_strdup(path);
        struct stat st;
        cr_assert_eq(stat(target, &st), 0, "%s: broken link (%s)", path, target);
        if (hash && *hash) {
            char *t = slurp(target, NULL);
            cr_assert(t && has_anchor(t, hash), "%s: no heading for #%s in %s", path, hash, target);
            free(t);
        }
        free(target);
        n++;
    }
    // Embedded pictures (<img src="...">): a PNG of the repository, not an empty file.
    for (const char *p = txt; (p = strstr(p, "<img src=\"")); p++) {
        const char *a = p + 10, *e = strchr(a, '"');
        cr_assert(e && e - a < 300, "%s: unterminated <img src", path);
        char *target = ad_sprintf("%s/%.*s", dir, (int)(e - a), a);
        size_t len = 0;
        char *png = slurp(target, &len);
        cr_assert(png && len > 1000 && !memcmp(png, "\x89PNG", 4), "%s: <img> %s is not a PNG of the repository", path,
                  target);
        free(png);
        free(target);
        n++;
    }
    cr_assert(!strstr(txt, "../shared"), "%s mentions ../shared", path);
    free(txt);
    return n;
}

Test(docs, links_resolve_inside_the_repository) {
    int n = check_links("README.md", ".");
    const char *docs[] = {"docs/methods.md",  "docs/protocols.md", "docs/codegraph.md", "docs/datasets.md",
                          "docs/configs.md",  "docs/outputs.md",   "docs/backbones.md", "docs/performance.md"};
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) n += check_links(docs[i], "docs");
    cr_assert_gt(n, 10, "only %d links checked", n);
    char *readme = slurp("README.md", NULL);
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
        cr_assert(strstr(readme, docs[i]), "README does not link %s", docs[i]);
    free(readme);
}

Test(docs, readme_keeps_the_two_setup_commands) {
    char *r = slurp("README.md", NULL);
    cr_assert(strstr(r, "```sh\nbash scripts/setup.sh && make -j2 && make demo\n```"), "set-up command changed");
    cr_assert(strstr(r, "```sh\nmake test\n```"), "test command changed");
    cr_assert(strstr(r, "## Runs on CPUs") && strstr(r, "--shard i/n"), "README must say it runs on CPUs and scales out");
    free(r);
}

Test(docs, slug_rule) {
    char s[128];
    const char *h = "CoDeGraph \xe2\x80\x94 `codegraph`";
    slug(h, strlen(h), s, sizeof s);
    cr_assert_str_eq(s, "codegraph--codegraph");
    h = "Performance (`make bench`)";
    slug(h, strlen(h), s, sizeof s);
    cr_assert_str_eq(s, "performance-make-bench");
}

// docs/methods.md lists every key of every method and backbone (the tables were printed by
// `adbench params`; a key added to a ParamSpec table must be documented too).
Test(docs, methods_doc_lists_every_key) {
    char *doc = slurp("docs/methods.md", NULL);
    cr_assert(doc);
    const char *methods[] = {"musc", "codegraph", "patchcore", "anomalydino"}, *bbs[] = {"vit", "pixel", "resnet"};
    for (int k = 0; k < 7; k++) {
        const ParamSpec *spec = k < 4 ? method_find(methods[k])->params : backbone_find(bbs[k - 4])->params;
        for (const ParamSpec *s = spec; s->key; s++) {
            char *cell = ad_sprintf("| `%s` |", s->key);
            cr_assert(strstr(doc, cell), "docs/methods.md lacks %s's key '%s' (see adbench params %s)",
                      k < 4 ? methods[k] : bbs[k - 4], s->key, k < 4 ? methods[k] : bbs[k - 4]);
            free(cell);
        }
    }
    free(doc);
}
