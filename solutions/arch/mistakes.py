"""Typical mistakes in the architecture assignment (instructor only; grader/mistakes.py says the format).

`grader validate --mistakes arch` grades each one; tests/test_arch_mutants.py checks them in detail.
"""
MISTAKES = [
    {"name": "biases-not-counted",
     "explanation": "the biases are not counted: a layer has F^2 C D + D parameters (n_out (n_in + 1) fully "
                    "connected)",
     "replace": [("* (int(f) * int(f) * int(c) + 1)", "* (int(f) * int(f) * int(c))"),
                 ("int(n_out) * (int(n_in) + 1)", "int(n_out) * int(n_in)")],
     "fails": [{"all_of": ["params"]}]},
    {"name": "fc-weights-in-hwc-order",
     "explanation": "the fully connected weights are read in (H, W, C) order; the flattening is (C, H, W)",
     "replace": [("w_conv = xp.ascontiguousarray(w_fc.T).reshape(n_out, channels, height, width)",
                  "w_conv = w_fc.T.reshape(n_out, height, width, channels).transpose(0, 3, 1, 2)")],
     "fails": [{"all_of": ["fc_to_conv"], "none_of": ["value_error"]}]},
    {"name": "floor-instead-of-valueerror",
     "explanation": "windows that do not tile the input are floored; the lecture's formula must give an "
                    "integer, else ValueError",
     "replace": [("    if span < 0 or span % stride:\n", "    if span < 0:\n")],
     "fails": [{"all_of": ["value_error"], "name": "% 2 != 0"}]},
]
