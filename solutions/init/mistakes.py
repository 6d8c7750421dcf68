"""Typical mistakes in the initialisation assignment (instructor only; grader/mistakes.py says the format).

`grader validate --mistakes init` grades each one; tests/test_init_mutants.py checks them in detail.
"""
MISTAKES = [
    {"name": "xavier-in-with-fan-out",
     "explanation": "Xavier mode \"in\" with 1/n_out: the forward rule keeps the variance with Var(w) = 1/n_in",
     "replace": [("variance = 1.0 / n_in", "variance = 1.0 / n_out")],
     "fails": [{"all_of": ["xavier", "mode-in"]}]},
    {"name": "he-with-one-over-fan-in",
     "explanation": "He with Var(w) = 1/n_in (Xavier's rule); ReLU halves the variance, so He uses 2/n_in",
     "replace": [("_sample(shape, rng, 2.0 / n_in, distribution)", "_sample(shape, rng, 1.0 / n_in, distribution)")],
     "fails": [{"all_of": ["he"]}]},
    {"name": "uniform-bound-sqrt-var",
     "explanation": "sqrt(Var) as the uniform bound: U[-a, a] has variance a^2/3, so a = sqrt(3 Var)",
     "replace": [("bound = np.sqrt(3.0 * variance)", "bound = np.sqrt(variance)")],
     "fails": [{"all_of": ["uniform"]}]},
]
