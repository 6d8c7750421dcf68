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
    {"name": "depth-from-the-wrong-layer",
     "explanation": "a conv layer's parameters use its own depth D for the input depth C: F^2 C D + D takes "
                    "C from the layer before (3 for the first VGG layer: 1.7k, not 37k)",
     "replace": [("""            n_params = conv_param_count(channels, n_filters, f)
            channels = n_filters
""", """            channels = n_filters
            n_params = conv_param_count(channels, n_filters, f)
""")],
     # The tables' parameters wherever a conv layer changes the depth: VGG-16's blocks 1 to 4 (block 5
     # keeps 512 and the head has no conv), its total, the other networks and the public first block.
     "fails": [{"all_of": ["table", "params"], "name": "^(?!.*(block 5|head))"}]},
]
