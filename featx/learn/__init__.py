"""Learning on feature files: heads, held-out splits, grid search, reports, bundles, prediction."""
