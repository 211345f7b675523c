import torch

from ucgen.io.checkpoint import load_component, save_component
from ucgen.methods.cofi.basis import BasisConfig, FineBasis
from ucgen.methods.cofi.bitcodes import id_bits


def fitted(min_count=32):
    gen = torch.Generator().manual_seed(0)
    # Code 0: 200 points stretched along known axes; code 3: 5 points (too few: global basis).
    scales = torch.tensor([5.0, 3.0, 1.0, 0.5])
    z_f = torch.cat(
        [torch.randn(200, 4, generator=gen) * scales + 2.0, torch.randn(5, 4, generator=gen)]
    )
    z_c = (
        torch.cat(
            [id_bits(torch.zeros(200, dtype=torch.int64), 2), id_bits(torch.full((5,), 3), 2)]
        )
        * 0.7
    )
    return FineBasis(BasisConfig(bits=2, fine_dim=4, min_count=min_count)).fit(z_c, z_f), z_f


def test_basis_is_orthonormal_and_sorted_by_variance():
    basis, _ = fitted()
    eye = torch.eye(4)
    for code in range(4):
        u = basis.basis[code]
        assert torch.allclose(u.T @ u, eye, atol=1e-5)
        var = basis.variance[code]
        assert (var[:-1] >= var[1:]).all()
    # The first direction of code 0 is the most stretched axis (up to sign convention).
    assert basis.basis[0, :, 0].abs().argmax() == 0
    assert basis.basis[0, :, 0].max() > 0.95
    assert basis.count.tolist() == [200, 0, 0, 5]
    assert basis.own.tolist() == [1, 0, 0, 0]
    assert torch.allclose(basis.mean[0], torch.full((4,), 2.0), atol=0.8)


def test_small_codes_use_the_global_basis():
    basis, z_f = fitted()
    assert torch.equal(basis.basis[3], basis.basis[1])
    assert torch.allclose(basis.mean[3], z_f.mean(0))
    assert not torch.equal(basis.basis[3], basis.basis[0])
    assert fitted(min_count=5)[0].own.tolist() == [1, 0, 0, 1]


def test_coefficients_are_centred_and_invertible():
    basis, z_f = fitted()
    codes = torch.zeros(200, dtype=torch.int64)
    coeff = basis.coefficients(z_f[:200], codes)
    assert coeff.mean(0).abs().max() < 1e-4
    var = coeff.var(0)
    assert (var[:-1] >= var[1:]).all()
    assert torch.allclose(basis.fine_vector(coeff, codes), z_f[:200], atol=1e-4)


def test_save_load_round_trip(tmp_path):
    basis, z_f = fitted()
    save_component(basis, basis.config, tmp_path / "basis")
    again = load_component(FineBasis, BasisConfig, tmp_path / "basis")
    codes = torch.tensor([0, 3, 1])
    assert torch.equal(again.coefficients(z_f[:3], codes), basis.coefficients(z_f[:3], codes))
    assert torch.equal(again.own, basis.own)
