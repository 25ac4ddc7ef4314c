// PLACEHOLDER: replaced by the dataset registry.
#include <stdlib.h>
#include "dataset.h"
#include "err.h"
const DatasetAdapter *dataset_find(const char *name) { ad_error("unknown dataset '%s'", name); return NULL; }
const char *dataset_names(void) { return ""; }
void category_free(Category *c) { (void)c; }
void string_list_free(char **names, int n) { for (int i = 0; i < n; i++) free(names[i]); free(names); }
