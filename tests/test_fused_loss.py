"""The fused output-layer cross-entropy: the same loss and gradients as PyTorch's, to float32 rounding."""

import json

import pytest
import torch
import torch.nn.functional as F

from embedeval.reproduce import TABLES
from embedeval.train.fused_loss import linear_cross_entropy
from tests.conftest import run_cli


def unfused(features, weight, bias, targets):
    return F.cross_entropy(
        F.linear(features, weight, bias).view(-1, weight.size(0)), targets.reshape(-1), reduction="sum"
    )


def grads(loss_fn, *tensors):
    leaves = [t.detach().clone().requires_grad_(True) if t is not None else None for t in tensors[:3]]
    loss = loss_fn(*leaves, tensors[3])
    (loss * 0.7).backward()  # a scaled loss, as the trainer's cost divides the sum by the batch
    return loss.detach(), [t.grad for t in leaves if t is not None]


@pytest.mark.parametrize("kernel", [1, 2])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])  # one row, rows not a multiple of the block, one block
def test_loss_and_gradients_match_pytorchs(with_bias, chunk, kernel):
    gen = torch.Generator().manual_seed(0)
    features = torch.randn(5, 9, 16, generator=gen)
    weight = torch.randn(300, 16, generator=gen) * 0.3
    bias = torch.randn(300, generator=gen) if with_bias else None
    targets = torch.randint(0, 300, (5, 9), generator=gen)
    want, want_grads = grads(unfused, features, weight, bias, targets)
    got, got_grads = grads(
        lambda f, w, b, t: linear_cross_entropy(f, w, b, t, chunk, kernel), features, weight, bias, targets
    )
    torch.testing.assert_close(got, want, rtol=1e-6, atol=0)
    for g, w in zip(got_grads, want_grads):
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-6)


def test_chunk_zero_is_pytorchs_loss_bit_for_bit():
    gen = torch.Generator().manual_seed(1)
    features, weight = torch.randn(40, 8, generator=gen), torch.randn(50, 8, generator=gen)
    bias, targets = torch.randn(50, generator=gen), torch.randint(0, 50, (40,), generator=gen)
    assert torch.equal(
        linear_cross_entropy(features, weight, bias, targets, 0), unfused(features, weight, bias, targets)
    )


def kernel_one_by_hand(features, weight, bias, targets, chunk):
    """Kernel 1 written out: logsumexp on its own, then exp(z - logsumexp) - onehot, block by block."""
    total, grad_f, grad_w, grad_b = torch.zeros((), dtype=torch.float64), [], torch.zeros_like(weight), 0
    for start in range(0, features.size(0), chunk):
        rows, gold = features[start : start + chunk], targets[start : start + chunk]
        z = torch.addmm(bias, rows, weight.t())
        lse = torch.logsumexp(z, dim=1)
        total += (lse - z.gather(1, gold.unsqueeze(1)).squeeze(1)).sum(dtype=torch.float64)
        z.sub_(lse.unsqueeze(1)).exp_()
        z[torch.arange(z.size(0)), gold] -= 1.0
        grad_f.append(z @ weight)
        grad_w.addmm_(z.t(), rows)
        grad_b = grad_b + z.sum(0)
    return total.float(), [torch.cat(grad_f), grad_w, grad_b]


@pytest.mark.parametrize("chunk", [7, 1000])
def test_kernel_one_keeps_the_arithmetic_of_the_runs_started_with_it_bit_for_bit(chunk):
    gen = torch.Generator().manual_seed(3)
    features, weight = torch.randn(40, 8, generator=gen), torch.randn(50, 8, generator=gen)
    bias, targets = torch.randn(50, generator=gen), torch.randint(0, 50, (40,), generator=gen)
    got, got_grads = grads(
        lambda f, w, b, t: linear_cross_entropy(f, w, b, t, chunk, 1), features, weight, bias, targets
    )
    want, want_grads = kernel_one_by_hand(features, weight, bias, targets, chunk)
    assert torch.equal(got, want)
    for g, w in zip(got_grads, want_grads):
        assert torch.equal(g, w * 0.7)  # the test's loss is scaled by 0.7, as in grads()


def test_a_second_backward_through_the_same_loss_is_refused_not_scaled_twice():
    gen = torch.Generator().manual_seed(4)
    features = torch.randn(6, 4, generator=gen, requires_grad=True)
    weight = torch.randn(9, 4, generator=gen, requires_grad=True)
    loss = linear_cross_entropy(features, weight, None, torch.randint(0, 9, (6,), generator=gen), 4)
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="call backward once"):
        loss.backward()


def test_no_rows_give_a_zero_loss_and_zero_gradients_as_pytorchs_loss_does():
    features = torch.zeros(0, 4, requires_grad=True)
    weight = torch.randn(9, 4, requires_grad=True)
    bias = torch.randn(9, requires_grad=True)
    loss = linear_cross_entropy(features, weight, bias, torch.zeros(0, dtype=torch.long), 4)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(weight.grad, torch.zeros_like(weight)) and torch.equal(bias.grad, torch.zeros_like(bias))


def test_without_gradients_it_only_sums_the_loss():
    gen = torch.Generator().manual_seed(2)
    features, weight = torch.randn(30, 8, generator=gen), torch.randn(20, 8, generator=gen)
    targets = torch.randint(0, 20, (30,), generator=gen)
    with torch.no_grad():
        loss = linear_cross_entropy(features, weight, None, targets, 4)
    torch.testing.assert_close(loss, unfused(features, weight, None, targets), rtol=1e-6, atol=0)
    assert loss.grad_fn is None


def test_a_tiny_run_trains_to_the_unfused_runs_perplexity_within_float_rounding(tmp_path):
    summaries = {}
    for chunk in ("0", "8"):
        out = tmp_path / f"chunk{chunk}"
        code, _, err = run_cli("train", "lm", "--corpus", "builtin", "--config", "tiny", "--variant", "wt", "--epochs",
                               "1", "--max-batches", "100", "--threads", "1", "--loss-chunk", chunk, "--out", str(out))  # fmt: skip
        assert code == 0, err
        summaries[chunk] = json.loads((out / "summary.json").read_text())
    # the sums are formed in another order, so the runs agree to float32 rounding carried through 100 SGD steps, not
    # bit for bit; over a whole epoch of this tiny run the gap grows to the size a change of --threads makes
    # (docs/performance.md)
    for key in ("valid_ppl", "test_ppl"):
        assert summaries["8"][key] == pytest.approx(summaries["0"][key], rel=1e-5)
    assert summaries["8"]["config"]["loss_chunk"] == 8 and summaries["0"]["config"]["loss_chunk"] == 0


def test_a_run_from_before_the_fused_loss_resumes_with_the_unfused_one(tmp_path):
    out = tmp_path / "old"
    args = ["train", "lm", "--corpus", "builtin", "--config", "tiny", "--threads", "1", "--out", str(out)]
    assert run_cli(*args, "--epochs", "1")[0] == 0
    config = json.loads((out / "config.json").read_text())
    del config["config"]["loss_chunk"]  # what a run trained before the option's config.json holds
    (out / "config.json").write_text(json.dumps(config))
    code, _, err = run_cli(*args, "--epochs", "2", "--resume")
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["config"]["loss_chunk"] == 0


def test_a_fused_run_from_before_the_second_kernel_resumes_with_the_first(tmp_path):
    out = tmp_path / "old"
    args = ["train", "lm", "--corpus", "builtin", "--config", "tiny", "--threads", "1", "--out", str(out)]
    assert run_cli(*args, "--epochs", "1")[0] == 0
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["loss_kernel"] == 2  # a new run's
    del config["config"]["loss_kernel"]  # what a fused run trained before the second kernel holds
    (out / "config.json").write_text(json.dumps(config))
    code, _, err = run_cli(*args, "--epochs", "2", "--resume")
    assert code == 0, err
    config = json.loads((out / "summary.json").read_text())["config"]
    assert config["loss_kernel"] == 1 and config["loss_chunk"] == 1024


def test_every_table_trains_its_language_models_with_the_loss_of_its_committed_runs():
    for table in TABLES.values():
        for run in table.runs((1,)):
            if run.args[:2] == ("train", "lm"):
                assert run.args[run.args.index("--loss-chunk") + 1] == "0", (table.name, run.folder)
