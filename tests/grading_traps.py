"""For every exercise of the book, the mistake it is there to catch, written as a student would.

A grading profile is good enough when each of these answers fails: a mistake that gives the
right number under the profile (the last epoch when loss is still falling, no rise in three
epochs, early stopping that never fires) would pass. `tests/test_grading_traps.py` grades them.
Keep them out of the handout: they sit next to the solutions.
"""
TRAPS = {
    "01_overfitting.ipynb": {
        # the gap at the epoch of lowest validation loss, not at the end
        1: 'best = history["val_loss"].index(min(history["val_loss"]))\n'
           'gap = history["train_acc"][best] - history["val_acc"][best]',
        # the last epoch instead of the lowest
        2: 'lowest_epochs = [len(run.history["val_loss"]) for run in baselines]',
        # every epoch in the denominator
        3: 'small = ru.Experiment(train_size=SIZES[0]).run().history\n'
           'val_losses = small["val_loss"]\n'
           'rises = sum(later > earlier for earlier, later in zip(val_losses, val_losses[1:]))\n'
           'rising_fraction = rises / len(val_losses)',
    },
    "02_penalties.ipynb": {
        # small weights overshoot past zero: no clamp
        1: 'def soft_threshold(w, threshold):\n    return w - threshold * torch.sign(w)',
        # the penalty against the summed squared error: no division by n
        2: 'H = X.T @ X\n'
           'w_ridge = torch.linalg.solve(H + RIDGE * torch.eye(2, dtype=H.dtype), X.T @ y_regression)\n'
           'w_plain = torch.linalg.solve(H, X.T @ y_regression)\n'
           'eigenvalues, eigenvectors = torch.linalg.eigh(H)\n'
           'factors = (eigenvectors.T @ w_ridge) / (eigenvectors.T @ w_plain)',
        # the winner alone, not the range within noise of it
        3: 'near_best = [l2_sweep.values[int(np.argmin(l2_sweep.mean("val_loss")))]]',
    },
    "03_weight_decay.ipynb": {
        # PyTorch's λ divided by the learning rate, instead of multiplied
        1: 'config = decoupled.experiment.resolved()\n'
           'paper_lambda = config.strength / config.lr\n'
           'normalized_lambda = paper_lambda / (config.batch_size / '
           '(config.train_size * config.epochs)) ** 0.5',
        # the decay inside Adam's gradient for AdamW too
        2: 'lr, weight_decay = 0.01, 0.5\n'
           'g = grad + weight_decay * w\n'
           'new_w = w - lr * g / (g.abs() + 1e-8)\n'
           'new_w_coupled = new_w',
        # the 1/η prediction's nearest candidate, not a measurement
        3: 'matched = min(DECOUPLED_VALUES, key=lambda value: abs(value - 1e-2 / 3e-3))',
    },
    "04_dropout.ipynb": {
        1: 'def my_dropout(x, p):\n    return x * (torch.rand_like(x) >= p)',
        # both accuracies measured in evaluation mode (ru.train.evaluate switches to it)
        2: 'heavy_model = hidden.runs[(0.8, first)].model\n'
           '_, heavy_eval_acc = ru.train.evaluate(heavy_model, data.x_val, data.y_val)\n'
           'heavy_model.train()\n'
           '_, heavy_train_acc = ru.train.evaluate(heavy_model, data.x_val, data.y_val)\n'
           'accuracy_drop = heavy_eval_acc - heavy_train_acc',
        # the weights alone, not weighed by their inputs
        3: 'def dropout_penalty(w, x, p):\n    return p / (1 - p) * float((w ** 2).sum())',
    },
    "05_batch_norm.ipynb": {
        # the running mean left out of the folded bias
        1: 'def fold(linear, norm):\n'
           '    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)\n'
           '    folded = nn.Linear(linear.in_features, linear.out_features)\n'
           '    with torch.no_grad():\n'
           '        folded.weight.copy_(linear.weight * scale[:, None])\n'
           '        folded.bias.copy_(linear.bias * scale + norm.bias)\n'
           '    return folded',
        # the biased batch variance in the running estimate
        2: 'running_mean, running_var = torch.zeros(3), torch.ones(3)\n'
           'for b in five_batches:\n'
           '    running_mean = 0.9 * running_mean + 0.1 * b.mean(0)\n'
           '    running_var = 0.9 * running_var + 0.1 * b.var(0, unbiased=False)',
        # ±1 everywhere, even on the feature where the two examples agree
        3: 'pair_output = torch.tensor([[-1.0, -1.0, -1.0, 1.0],\n'
           '                            [1.0, 1.0, 1.0, -1.0]])',
    },
    "06_layer_norm.ipynb": {
        # RMSNorm answered as if it subtracted the mean, like layer norm
        1: 'rms_invariant = {"whole weight matrix × 2.5": True, "same vector added to every row of W": True,\n'
           '                 "one unit\'s weights × 2.5": False, "every input × 3": True,\n'
           '                 "same vector added to every input": False, "one example × 3": True}',
        # one set of statistics per position: the batch only
        2: 'def sequence_batch_norm(x, eps=1e-5):\n'
           '    mean = x.mean(dim=0, keepdim=True)\n'
           '    var = x.var(dim=0, keepdim=True, unbiased=False)\n'
           '    return (x - mean) / torch.sqrt(var + eps)',
        # the normal quantile 1.96 with five seeds
        3: 'differences_2 = (batch_sweeps["layer_norm"].at(BATCH_SIZES[0], "test_acc")\n'
           '                 - batch_sweeps["none"].at(BATCH_SIZES[0], "test_acc"))\n'
           'half = 1.96 * differences_2.std(ddof=1) / np.sqrt(len(differences_2))\n'
           'low, high = differences_2.mean() - half, differences_2.mean() + half\n'
           'resolved = bool(low > 0 or high < 0)',
    },
    "07_noise.ipynb": {
        # σ², the answer for the mean squared error, where the errors are summed
        1: 'matching_lambda = 0.5 ** 2',
        # the conversion for pixels in [0, 1], the width of [-1, 1] forgotten
        2: 'our_sigma = 0.1 / ru.data.STD',
        # the winner alone, not the range within noise of it
        3: 'losses = {0.0: np.array([run.metrics["val_loss"] for run in baselines]),\n'
           '          **{sigma: input_sweep.at(sigma, "val_loss") for sigma in input_sweep.values}}\n'
           'candidates = [min(losses, key=lambda sigma: losses[sigma].mean())]',
    },
    "08_early_stopping.ipynb": {
        # GL compared as a fraction, not in percent
        1: 'def gl_stop(val_loss, alpha):\n'
           '    lowest = math.inf\n'
           '    for epoch, loss in enumerate(val_loss, start=1):\n'
           '        lowest = min(lowest, loss)\n'
           '        if loss / lowest - 1 > alpha:\n'
           '            return val_loss.index(lowest) + 1, epoch\n'
           '    return val_loss.index(min(val_loss)) + 1, len(val_loss)',
        # the chapter's own rule, which watches the loss, not the accuracy
        2: 'restored_epoch, _ = stopping_point(baselines[0].history["val_loss"], 1)',
        # the parameters only: batch norm's running statistics are left behind
        3: 'def snapshot(model):\n'
           '    return {name: p.detach().clone() for name, p in model.named_parameters()}',
    },
    "09_augmentation.ipynb": {
        # grid_sample's zero padding kept: the corners come in gray, not black
        1: 'def shear(x, factor):\n'
           '    one, zero = torch.ones_like(factor), torch.zeros_like(factor)\n'
           '    theta = torch.stack([torch.stack([one, factor, zero], 1), '
           'torch.stack([zero, one, zero], 1)], 1)\n'
           '    grid = F.affine_grid(theta, list(x.shape), align_corners=False)\n'
           '    return F.grid_sample(x, grid, align_corners=False)',
        # only the best strength, not every one within noise of it
        2: 'within_noise = [STRENGTHS[int(np.argmin(strength_sweep.mean("val_loss")))]]',
        # the digit flips help most, not the one they hurt most
        3: 'with_flips = ru.Experiment("flip", 0.5).run(keep_model=True).model\n'
           'without = ru.Experiment().run(keep_model=True).model\n'
           'change = per_class_accuracy(with_flips, data.x_test, data.y_test) - per_class_accuracy(\n'
           '    without, data.x_test, data.y_test)\n'
           'most_hurt = int(np.argmax(change))',
    },
    "10_combining.ipynb": {
        1: 'def rescale(model, factor):\n'
           '    model = copy.deepcopy(model)\n'
           '    with torch.no_grad():\n'
           '        for layer in model:\n'
           '            if isinstance(layer, torch.nn.BatchNorm1d):\n'
           '                layer.weight.mul_(factor)\n'
           '    return model',
        # early stopping's effect with batch norm only, not the difference of the two effects
        2: 'bn, es = frozenset({"batch_norm"}), frozenset({"early_stopping"})\n'
           'interaction = list(per_seed(bn | es) - per_seed(bn))',
        # the gap of the last epoch trained, not of the restored one (the review's case)
        3: 'def kept_gap(history):\n'
           '    record = history.records[-1]\n'
           '    return record["train_acc"] - record["val_acc"]',
    },
    "11_tuning.ipynb": {
        # the first labels flipped, not labels at random positions
        1: 'def flip_to(labels, fraction, confusion, generator):\n'
           '    flipped = labels.clone()\n'
           '    count = round(fraction * len(labels))\n'
           '    flipped[:count] = confusion[labels[:count]]\n'
           '    return flipped',
        # the remainder dropped: n // k images per fold
        2: 'def folds(n, k):\n'
           '    size = n // k\n'
           '    return [([j for j in range(n) if not i * size <= j < (i + 1) * size],\n'
           '             list(range(i * size, (i + 1) * size))) for i in range(k)]',
        # the true class instead of the given label
        3: 'with torch.no_grad():\n'
           '    predicted = memorizer.model.eval()(given.x_train.to(ru.best_device())).argmax(dim=1)\n'
           'flipped_rows = (given.y_train != true.y_train).to(predicted.device)\n'
           'labels_true = true.y_train.to(predicted.device)\n'
           'memorized = (predicted[flipped_rows] == labels_true[flipped_rows]).float().mean().item()',
    },
}
