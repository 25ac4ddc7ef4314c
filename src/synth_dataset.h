// `name: synth` datasets of a config: the synth: options parsed and the tree generated on first use.
#pragma once
#include "config.h"

// Generates the dataset described by d's synth options into root unless root exists
// (atomically: a temporary folder renamed into place). 0, or -1 with ad_error.
int synth_dataset_ensure(const DatasetConfig *d, const char *root);
