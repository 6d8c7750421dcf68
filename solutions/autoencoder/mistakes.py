"""Typical mistakes in the autoencoder assignment (instructor only; grader/mistakes.py says the format).

`grader validate --mistakes autoencoder` grades each one; tests/test_autoencoder_mutants.py checks
them in detail. Tests that train with the broken function may fail too ("may_fail").
"""
TRAINING = {"all_of": ["training"]}

MISTAKES = [
    {"name": "tied-gradient-one-use",
     "explanation": "with tied weights W is used twice: its gradient is the encoder's x^T delta_h plus the "
                    "decoder's (h^T delta_out)^T",
     "replace": [('grads["W"] = grads["W"] + grad_w_dec.T', 'grads["W"] = grads["W"]')],
     "fails": [{"all_of": ["gradient", "tied"]}, {"all_of": ["gradient"], "name": r"\[tied\]$"}],
     "may_fail": [TRAINING]},
    {"name": "sigmoid-decoder-derivative-sign",
     "explanation": "the sigmoid's derivative has the wrong sign: sigma'(a) = x_hat (1 - x_hat)",
     "replace": [("delta_out = delta_out * x_hat * (1.0 - x_hat)", "delta_out = delta_out * x_hat * (x_hat - 1.0)")],
     "fails": [{"all_of": ["gradient"], "name": "sigmoid decoder"}]},
    {"name": "decoder-weight-gradient-sign",
     "explanation": "the decoder's weight gradient has the wrong sign: it is h^T delta_out",
     "replace": [("grad_w_dec = h.T @ delta_out", "grad_w_dec = -(h.T @ delta_out)")],
     "fails": [{"all_of": ["gradient"]}],
     "may_fail": [TRAINING]},
    {"name": "gaussian-instead-of-masking-noise",
     "explanation": "Gaussian noise instead of masking noise: the denoising autoencoder sets a fraction "
                    "of the inputs to zero",
     "replace": [("    keep = as_generator(rng).random(x.shape) >= level\n"
                  "    return x * xp.asarray(keep, dtype=x.dtype)",
                  "    noise = as_generator(rng).standard_normal(x.shape)\n"
                  "    return x + level * xp.asarray(noise, dtype=x.dtype)")],
     "fails": [{"all_of": ["corrupt"]}],
     "may_fail": [{"all_of": ["denoising"]}]},
    {"name": "stack-layer-on-raw-input",
     "explanation": "layer 2 of the stack is trained on the raw input; it is trained on layer 1's codes",
     "replace": [('        codes, _ = ae_forward(codes, params, "sigmoid", '
                  'train_kwargs.get("decoder", "linear"))\n', "")],
     "fails": [{"all_of": ["stack"]}],
     "may_fail": [{"any_of": ["finetune", "pretraining"]}]},
    {"name": "loss-mean-over-elements",
     "explanation": "the loss averaged over all N x D entries (a mean squared error): L = 1/(2N) sum_n "
                    "||x_hat_n - x_n||^2 averages over the N samples only, and its gradients carry 1/N",
     "replace": [("loss = 0.5 * float((diff * diff).sum()) / n", "loss = 0.5 * float((diff * diff).mean())"),
                 ("delta_out = diff / n", "delta_out = diff / diff.size")],
     "fails": [{"any_of": ["loss", "gradient"]}],
     "may_fail": [TRAINING]},
    {"name": "finetune-frozen-encoder",
     "explanation": "fine-tuning updates only the softmax layer: the encoders' W_k, b_k are fine-tuned too "
                    "(step 4: fine-tune all parameters)",
     "replace": [("for layer, vel, grad in zip(model, velocity, grads):",
                  "for layer, vel, grad in zip(model[-1:], velocity[-1:], grads[-1:]):")],
     "fails": [{"all_of": ["finetune", "training"], "name": "the encoders' W_k and b_k change"}],
     # its held-out accuracy sits near the threshold: above it for most hidden inputs, not all
     "may_fail": [{"all_of": ["finetune", "training"]}]},
]
