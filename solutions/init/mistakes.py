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
    {"name": "distribution-ignored",
     "explanation": "the distribution argument is ignored (always normal): \"uniform\" asks for U[-a, a] with "
                    "a = sqrt(3 Var), the same variance but bounded",
     "replace": [('    if distribution == "normal":\n        return np.sqrt(variance)',
                  '    if distribution in ("normal", "uniform"):\n        return np.sqrt(variance)')],
     "fails": [{"all_of": ["uniform"]}]},
    {"name": "xavier-avg-with-one-over-fan-in",
     "explanation": "Xavier mode \"avg\" with 1/n_in (the forward rule): the compromise with the backward pass "
                    "is Var(w) = 2/(n_in + n_out)",
     "replace": [("variance = 2.0 / (n_in + n_out)", "variance = 1.0 / n_in")],
     "fails": [{"all_of": ["xavier"], "any_of": ["mode-avg", "sanity"]}]},
    {"name": "conv-fan-in-channels-only",
     "explanation": "the fan-in of a conv layer taken as C: one output sees a C x F x F block, so n_in = C*F*F",
     "replace": [("return n_channels * receptive_field, n_filters * receptive_field",
                  "return n_channels, n_filters * receptive_field")],
     "fails": [{"all_of": ["fans"], "name": r"conv .*(\[64x3x7x7\]|is \(C\*F\*F)"},
               {"all_of": ["distribution"], "any_of": ["xavier", "he"], "name": r"-conv\]$"},
               {"all_of": ["he", "sanity"]}]},
    {"name": "activation-ignored-always-tanh",
     "explanation": "the activation argument is ignored (every layer uses tanh): the experiment applies the "
                    "chosen f, and ReLU or linear layers keep the variance differently",
     "replace": [("    f = _ACTIVATIONS[activation]\n", "    f = np.tanh\n")],
     "fails": [{"all_of": ["activation_stats"], "name": r"relu|linear"}]},
]
