"""The Transformer's dropout kernels (1 is PyTorch's dropout draw for draw, 2 keeps the stated share of elements with
PyTorch's scaling from uniform draws) and AdamW's (1 PyTorch's loop, 2 its fused kernel); a run keeps the kernels it
started with and the committed tables pin 1."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from embedeval.reproduce import TABLES
from embedeval.train.lm import make_optimizer
from embedeval.train.lm_config import make_config
from embedeval.train.lm_model import build_model
from embedeval.train.transformer_model import Dropout, TransformerLM, causal_attention, uniform_dropout
from tests.conftest import run_cli


def test_kernel_2_keeps_one_minus_p_of_the_elements_and_scales_them_as_pytorch_does():
    torch.manual_seed(0)
    x = torch.ones(1000, 1000, requires_grad=True)
    y = uniform_dropout(x, 0.1)
    kept = y != 0
    assert torch.equal(y[kept], torch.full_like(y[kept], 1.0) / 0.9)  # PyTorch divides the mask by 1 - p too
    assert abs(kept.float().mean().item() - 0.9) < 5 * (0.9 * 0.1 / 1e6) ** 0.5  # five standard errors
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # the gradient passes where the element was kept, scaled the same way


def test_kernel_2_draws_the_same_masks_from_the_same_seed_and_other_masks_than_kernel_1():
    x = torch.randn(64, 64)
    masks = []
    for kernel in (2, 2, 1):
        torch.manual_seed(3)
        masks.append(Dropout(0.3, kernel).train()(x) != 0)
    assert torch.equal(masks[0], masks[1])
    assert not torch.equal(masks[0], masks[2])


def test_either_kernel_is_the_identity_when_evaluating_or_when_p_is_0():
    x = torch.randn(8, 8)
    for kernel in (1, 2):
        assert Dropout(0.5, kernel).eval()(x) is x
        assert Dropout(0.0, kernel).train()(x) is x


def test_attention_without_dropout_is_pytorchs_causal_attention():
    torch.manual_seed(0)
    q, k, v = (torch.randn(3, 2, 7, 8) for _ in range(3))
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(causal_attention(q, k, v, 0.0), expected, rtol=1e-5, atol=1e-6)


def test_attention_with_kernel_2_drops_weights_but_never_looks_ahead():
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 6, 4), torch.randn(1, 1, 6, 4)
    v = torch.eye(6).view(1, 1, 6, 6)  # the output row is then the (dropped-out) attention weights themselves
    weights = causal_attention(q, k, v, 0.5)[0, 0]
    assert torch.all(weights.triu(1) == 0)
    assert (weights.tril() == 0).any()  # some weights dropped...
    assert (weights > 1.0).any()  # ...and the kept ones scaled by 1 / (1 - p)


def _training_output(model: nn.Module, tokens: torch.Tensor, seed: int) -> torch.Tensor:
    torch.manual_seed(seed)
    return model.train()(tokens, [])[0]


def test_kernel_1_is_the_transformer_as_it_was_before_the_option():
    cfg = make_config("tf-tiny", "wt", keep_prob=0.7, dropout_kernel=1, threads=1)
    torch.manual_seed(0)
    model = TransformerLM(30, cfg)
    tokens = torch.randint(0, 30, (16, 4))
    ours = _training_output(model, tokens, seed=5)
    # the code before: nn.Dropout everywhere and the attention's dropout inside scaled_dot_product_attention
    for module in [model, *model.blocks]:
        module.drop = nn.Dropout(0.3)
    for block in model.blocks:
        block.kernel = 1
    assert torch.equal(ours, _training_output(model, tokens, seed=5))
    cfg2 = make_config("tf-tiny", "wt", keep_prob=0.7, threads=1)
    assert cfg2.dropout_kernel == 2  # new runs
    torch.manual_seed(0)
    other = TransformerLM(30, cfg2)
    assert not torch.equal(ours, _training_output(other, tokens, seed=5))
    torch.testing.assert_close(model.eval()(tokens, [])[0], other.eval()(tokens, [])[0], rtol=0, atol=0)


def _steps_of_adamw(kernel: int, steps: int = 5) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = build_model(40, make_config("tf-tiny", "untied", optimizer_kernel=kernel, threads=1))
    optimizer = make_optimizer(model, model.cfg)
    assert optimizer.defaults["fused"] is (True if kernel == 2 else None)
    grads = torch.Generator().manual_seed(1)
    for _ in range(steps):
        for p in model.parameters():
            p.grad = torch.randn(p.shape, generator=grads)
        optimizer.step()
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_adamw_kernel_2_is_pytorchs_fused_adamw_and_steps_as_kernel_1_does_to_float32_rounding():
    loop, fused = _steps_of_adamw(1), _steps_of_adamw(2)
    for name in loop:
        torch.testing.assert_close(fused[name], loop[name], rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(fused[k], loop[k]) for k in loop)  # not bit for bit: hence the config field
    again = _steps_of_adamw(2)  # same seed, same numbers
    assert all(torch.equal(fused[k], again[k]) for k in fused)


def test_sgd_runs_do_not_read_the_adamw_kernel_and_lstms_not_the_dropout_kernel():
    assert {"optimizer_kernel", "dropout_kernel"} <= set(make_config("pw-small", "wt").unused_fields())
    assert not {"optimizer_kernel", "dropout_kernel"} & set(make_config("tf-small", "wt").unused_fields())


def test_a_transformer_run_from_before_the_option_resumes_with_kernel_1(tmp_path):
    out = tmp_path / "old"
    args = ["train", "lm", "--arch", "transformer", "--corpus", "builtin", "--config", "tf-tiny", "--keep-prob", "0.8",
            "--threads", "1", "--max-batches", "3", "--out", str(out)]  # fmt: skip
    assert run_cli(*args, "--epochs", "1")[0] == 0
    config = json.loads((out / "config.json").read_text())
    for kernel in ("dropout_kernel", "optimizer_kernel"):
        assert config["config"][kernel] == 2  # a new run's
        del config["config"][kernel]  # what a run trained before the options holds
    (out / "config.json").write_text(json.dumps(config))
    code, _, err = run_cli(*args, "--epochs", "2", "--resume")
    assert code == 0, err
    config = json.loads((out / "summary.json").read_text())["config"]
    assert config["dropout_kernel"] == 1 and config["optimizer_kernel"] == 1


@pytest.mark.parametrize("option", ["--dropout-kernel", "--optimizer-kernel"])
@pytest.mark.parametrize("kernel", ["0", "3"])
def test_a_kernel_out_of_range_is_refused_before_any_work(option, kernel):
    code, _, err = run_cli("train", "lm", "--arch", "transformer", "--config", "tf-tiny", "--corpus", "builtin",
                           option, kernel, "--dry-run")  # fmt: skip
    assert code != 0 and option in err


def test_every_table_trains_its_transformers_with_pytorchs_dropout_and_adamw_loop():
    found = 0
    for table in TABLES.values():
        for run in table.runs((1,)):
            if run.args[:2] == ("train", "lm") and "transformer" in run.args:
                for option in ("--dropout-kernel", "--optimizer-kernel"):
                    assert run.args[run.args.index(option) + 1] == "1", (table.name, run.folder, option)
                found += 1
    assert found >= 3  # the Transformer tables and the planted-token runs
