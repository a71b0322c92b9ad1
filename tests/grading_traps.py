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
        1: 'def my_batch_norm(x, gamma, beta, eps=1e-5):\n'
           '    return gamma * (x - x.mean(dim=0)) / torch.sqrt(x.var(dim=0) + eps) + beta',
        2: 'running_mean, running_var = torch.zeros(3), torch.ones(3)\n'
           'for b in five_batches:\n'
           '    running_mean = 0.9 * running_mean + 0.1 * b.mean(0)\n'
           '    running_var = 0.9 * running_var + 0.1 * b.var(0, unbiased=False)',
        3: 'history = plain.runs[(1e-2, 1)].history\n'
           'epoch = next((e for e, acc in enumerate(history["val_acc"], 1) if acc >= 0.88), None)\n'
           'seconds = None if epoch is None else sum(history["seconds"])',
    },
    "06_layer_norm.ipynb": {
        1: 'def my_layer_norm(x, weight, bias, eps=1e-5):\n'
           '    centred = x - x.mean(dim=0, keepdim=True)\n'
           '    var = (centred ** 2).mean(dim=0, keepdim=True)\n'
           '    return centred / torch.sqrt(var + eps) * weight + bias',
        2: 'def first_row_change(layer, batch, other):\n'
           '    with torch.no_grad():\n'
           '        return (layer(batch)[0] - layer(other)[0]).abs().max().item()',
        3: 'best_technique = max(batch_sweeps, key=lambda t: batch_sweeps[t].mean("val_acc")[-1])',
    },
    "07_noise.ipynb": {
        1: 'def my_noise(x, sigma):\n    return x + sigma * ru.data.STD * torch.randn_like(x)',
        2: '_, noisy_test_acc = ru.train.evaluate(baseline.model, data.x_test, data.y_test)',
        3: 'best_sigma = input_sweep.values[int(np.argmin(input_sweep.mean("val_loss")))]',
    },
    "08_early_stopping.ipynb": {
        # each epoch compared with the one before, not with the best so far
        1: 'waited = 0\n'
           'losses = baseline.history["val_loss"]\n'
           'stop_epoch = len(losses)\n'
           'for epoch in range(2, len(losses) + 1):\n'
           '    waited = 0 if losses[epoch - 1] < losses[epoch - 2] else waited + 1\n'
           '    if waited == 2:\n'
           '        stop_epoch = epoch\n'
           '        break',
        # the best epoch of the whole run, as if training had not stopped
        2: 'history_loss = baseline.history["val_loss"]\n'
           'restored_epoch = int(np.argmin(history_loss)) + 1',
        3: 'def snapshot(model):\n    return model.state_dict()',
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
        1: 'def flip(labels, fraction, generator):\n'
           '    count = round(fraction * len(labels))\n'
           '    chosen = torch.randperm(len(labels), generator=generator)[:count]\n'
           '    flipped = labels.clone()\n'
           '    flipped[chosen] = torch.randint(0, 10, (count,), generator=generator)\n'
           '    return flipped',
        2: 'def folds(n, k):\n'
           '    size = n // k\n'
           '    return [([j for j in range(n) if not i * size <= j < (i + 1) * size],\n'
           '             list(range(i * size, (i + 1) * size))) for i in range(k)]',
        3: 'with torch.no_grad():\n'
           '    predicted = memorizer.model.eval()(noisy_data.x_train.to(ru.best_device()))'
           '.argmax(dim=1)\n'
           'flipped_rows = (noisy_data.y_train != clean_data.y_train).to(predicted.device)\n'
           'labels_given = clean_data.y_train.to(predicted.device)\n'
           'memorized = (predicted[flipped_rows] == labels_given[flipped_rows]).float().mean()'
           '.item()',
    },
}
