"""Evaluation with labels: reference network, generation, clustering and control metrics.

reference = get_reference(train_ds, test_ds)          # trained once, cached
report = evaluate_samples(load_samples("s.npz"), test_ds, reference)
print(format_report(report))
"""

from ucgen.evaluation.evaluate import (
    FD_NOTE,
    evaluate_samples,
    format_report,
    load_real_and_reference,
    report_to_json,
)
from ucgen.evaluation.features import (
    FeatureExtractor,
    InceptionFeatures,
    ModuleFeatures,
    make_features,
)
from ucgen.evaluation.reference import Reference, ReferenceConfig, cache_dir, get_reference
from ucgen.evaluation.samples import Samples, load_samples, save_samples, validate_samples

__all__ = [
    "FD_NOTE",
    "FeatureExtractor",
    "InceptionFeatures",
    "ModuleFeatures",
    "Reference",
    "ReferenceConfig",
    "Samples",
    "cache_dir",
    "evaluate_samples",
    "format_report",
    "get_reference",
    "load_real_and_reference",
    "load_samples",
    "make_features",
    "report_to_json",
    "save_samples",
    "validate_samples",
]
