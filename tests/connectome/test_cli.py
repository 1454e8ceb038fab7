"""``neurosafe connectome info | simulate`` in-process."""

import json

from typer.testing import CliRunner

from neurosafe.cli import app

runner = CliRunner()


def test_info_json_matches_the_library(varshney):
    result = runner.invoke(app, ["connectome", "info", "varshney2011", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_neurons"] == 281 and summary["chemical_synapses"] == varshney.chemical.sum()
    assert summary["citation"].startswith("Varshney et al. 2011")
    table = runner.invoke(app, ["connectome", "info", "witvliet2021_8"])
    assert table.exit_code == 0 and "reciprocity" in table.output


def test_simulate_lif_writes_a_raster(tmp_path):
    figure = tmp_path / "cook2019_herm_lif.png"
    result = runner.invoke(
        app,
        [
            "connectome",
            "simulate",
            "cook2019_herm",
            "--input",
            "ALM,AVM",
            "--input",
            "PLM",
            "--duration",
            "50",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_inputs"] == 5 and summary["n_spikes"] > 0
    assert {row["type"] for row in summary["top_rates_hz"][:5]} <= {"ALM", "AVM", "PLM"}
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_rate_on_the_optic_lobe(tmp_path):
    figure = tmp_path / "flyvis_optic_lobe_rate.png"
    result = runner.invoke(
        app,
        [
            "connectome",
            "simulate",
            "flyvis_optic_lobe",
            "--extent",
            "2",
            "--input",
            "R1",
            "--model",
            "rate",
            "--current",
            "1",
            "--duration",
            "30",
            "--out",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_inputs"] == 19 and summary["top_rates"][0]["type"] == "R1" and figure.exists()
    table = runner.invoke(
        app,
        [
            "connectome",
            "simulate",
            "witvliet2021_8",
            "--input",
            "AVA",
            "--model",
            "rate",
            "--duration",
            "10",
            "--out",
            str(tmp_path),
        ],
    )
    assert table.exit_code == 0 and "most active neurons" in table.output


def test_errors_are_one_line_messages(tmp_path):
    result = runner.invoke(
        app,
        ["connectome", "simulate", "varshney2011", "--input", "NOPE", "--out", str(tmp_path)],
    )
    assert result.exit_code == 2 and "no neuron or cell type named 'NOPE'" in result.output
    assert runner.invoke(app, ["connectome", "info", "worm"]).exit_code != 0
    assert runner.invoke(app, ["connectome", "simulate", "--help"]).exit_code == 0


def test_optic_lobe_example_drives_a_response_through_the_network(tmp_path, monkeypatch):
    """Issue 18: the README's optic-lobe example lit up only its own input cells (R1/R2's synapses are inhibitory
    onto cells at rest, so nothing downstream moved). Driving R7/R8 must reach cells that get no input, of other
    types, and the figure must show them in its own panel; R1 alone reports zero downstream and says why."""
    from neurosafe.connectome import plots

    axes = []
    real = plots.save_figure
    monkeypatch.setattr(plots, "save_figure", lambda fig, path: axes.extend(fig.axes) or real(fig, path))
    args = ["connectome", "simulate", "flyvis_optic_lobe", "--extent", "2", "--model", "rate", "--current", "1",
            "--duration", "30", "--out", str(tmp_path)]
    result = runner.invoke(app, [*args, "--input", "R7,R8", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["downstream_active"] > 0 and not {"R7", "R8"} & set(summary["downstream_types"])
    assert {row["type"] for row in summary["top_downstream"]}.isdisjoint({"R7", "R8"})
    downstream = [ax for ax in axes if ax.get_title().startswith("downstream")]
    assert len(downstream) == 1 and len(downstream[0].lines) > 0
    silent = runner.invoke(app, [*args, "--input", "R1"])
    assert silent.exit_code == 0 and "0 of them downstream" in silent.output and "inhibitory" in silent.output
