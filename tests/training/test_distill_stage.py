"""Distillation: a guidance student's one prediction approaches the teacher's guided two, a
step student's few Euler steps the teacher's Heun path; each saves what it gives, and the
generator built from it leaves other scales to the teacher."""

from __future__ import annotations

import dataclasses

import torch

from ucgen.diffusion.edm import EDM
from ucgen.diffusion.pipeline import DiffusionGenerator, SamplerSettings, guided_denoiser
from ucgen.models.hm_unet import load_unet
from ucgen.training.distill_stage import (
    SUBSTEPS,
    Distilled,
    DistilledGenerator,
    GuidanceDistillStage,
    StepDistillStage,
)

from .test_diffusion_stage import TRAIN, digits, one_thread, oracle_stage  # noqa: F401

GUIDANCE = Distilled(3.0, 3.0)


def gap(unet, teacher, stage, images, labels) -> float:
    """EDM-weighted distance of `unet`'s conditional denoiser to the teacher's guided one, at
    fixed noise levels across the sampler's range and fixed noise."""
    cond = stage.condition_fn(images, labels)
    g = torch.Generator().manual_seed(0)
    total = 0.0
    for sigma in (0.05, 0.3, 1.0, 3.0, 20.0):
        s = torch.full((len(images),), sigma)
        x = images + sigma * torch.randn(images.shape, generator=g)
        with torch.no_grad():
            target = guided_denoiser(teacher, cond, GUIDANCE.coarse, GUIDANCE.fine)(x, s)
            own = guided_denoiser(unet, cond)(x, s)
        total += float(
            (stage.edm.loss_weight(s) * (own - target).square().flatten(1).mean(1)).mean()
        )
    return total


def trained_teacher(digits) -> tuple:  # noqa: F811
    """A label-conditioned UNet trained 40 steps on the digits, with the images and labels."""
    torch.manual_seed(0)
    stage = oracle_stage(digits, dataclasses.replace(TRAIN, steps=40, ema=0.0))
    images, labels = digits.tensors(), torch.from_numpy(digits.labels)
    for step in range(40):
        stage.train_step(images, labels, step)
    return stage, images, labels


def test_student_learns_the_guided_prediction_and_keeps_its_scales(digits, tmp_path) -> None:  # noqa: F811
    teacher_stage, images, labels = trained_teacher(digits)
    teacher = teacher_stage.ema.eval()
    stage = GuidanceDistillStage(
        teacher, GUIDANCE, 60, 8, 5e-3, 0.0, teacher_stage.condition_fn, preview_steps=2
    )
    before = gap(stage.model, teacher, teacher_stage, images, labels)
    for step in range(60):
        stage.train_step(images, labels, step)
    after = gap(stage.ema.eval(), teacher, teacher_stage, images, labels)
    assert before > 0
    assert after < 0.5 * before, (before, after)

    stage.save(tmp_path / "student")
    assert Distilled.read(tmp_path / "student") == GUIDANCE
    student, own = DiffusionGenerator(load_unet(tmp_path / "student")), DiffusionGenerator(teacher)
    generator = DistilledGenerator(student, own, GUIDANCE, "distilled")
    cond = teacher_stage.condition_fn(images[:2], labels[:2])
    settings = SamplerSettings(steps=2, guidance_coarse=3.0, guidance_fine=3.0)
    plain = dataclasses.replace(settings, guidance_coarse=1.0, guidance_fine=1.0)
    assert torch.equal(generator.render(cond, 2, 0, settings), student.render(cond, 2, 0, plain))
    other = dataclasses.replace(settings, guidance_coarse=2.0)
    assert torch.equal(generator.render(cond, 2, 0, other), own.render(cond, 2, 0, other))


def test_step_student_takes_in_few_euler_steps_what_the_teacher_takes_in_heun_steps(
    digits,  # noqa: F811
    tmp_path,
) -> None:
    teacher_stage, images, labels = trained_teacher(digits)
    teacher = teacher_stage.ema.eval()
    stage = StepDistillStage(
        teacher, GUIDANCE, GUIDANCE, 2, 7.0, 80, 8, 5e-3, 0.0, teacher_stage.condition_fn
    )
    assert stage.distilled.levels == tuple(EDM().sigma_steps(2 * SUBSTEPS)[0:6:3].tolist())
    cond = teacher_stage.condition_fn(images, labels)
    own = DiffusionGenerator(teacher)
    guided = SamplerSettings(guidance_coarse=3.0, guidance_fine=3.0)
    # What the student learns to give: the teacher's Heun path over its 2 * SUBSTEPS levels.
    target = own.render(cond, 8, 0, dataclasses.replace(guided, steps=2 * SUBSTEPS))
    few = dataclasses.replace(guided, steps=stage.distilled.levels, solver="euler")
    teacher_gap = (own.render(cond, 8, 0, few) - target).square().mean()
    plain = dataclasses.replace(few, guidance_coarse=1.0, guidance_fine=1.0)
    untrained_gap = (DiffusionGenerator(stage.model).render(cond, 8, 0, plain) - target).square()
    for step in range(80):
        stage.train_step(images, labels, step)
    stage.save(tmp_path / "student")
    assert Distilled.read(tmp_path / "student") == stage.distilled
    student = DistilledGenerator(
        DiffusionGenerator(load_unet(tmp_path / "student")), own, stage.distilled, "fewstep"
    )
    assert student.sampled_with(guided) == plain
    images_student = student.render(cond, 8, 0, guided)
    gap_after = (images_student - target).square().mean()
    assert gap_after < 0.5 * min(teacher_gap, untrained_gap.mean()), (
        gap_after,
        teacher_gap,
        untrained_gap.mean(),
    )
    other = dataclasses.replace(guided, guidance_coarse=2.0)
    assert torch.equal(student.render(cond, 8, 0, other), own.render(cond, 8, 0, other))
