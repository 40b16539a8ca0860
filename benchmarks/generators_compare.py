"""Train each composition generator of sctk-generative on the SuperCon cuprates and compare samples.

    .venv/bin/python benchmarks/generators_compare.py [--n-samples 10000]
        [--models wgan-gp,scgan,lim-wgan,vae,diffusion] [--diffusion-100k]

Data: ``supercon`` (Stanev 2018 as cleaned by the loader), Tc > 0, ``class == "cuprate"``. Each model
is trained with the short ("quick-ish") settings in ``MODELS`` below on one torch thread (the shared
2-core CPU), then draws ``--n-samples`` samples (seed 0), which are decoded by the model's encoder.
Per model it prints, with the registered filters of ``sc_toolkit.load_registry()``:

- decoded: share of samples that decode to a formula (not empty);
- Cu+O: share of the decoded samples that hold Cu and O (did the model learn cuprate chemistry?);
- unique: distinct compositions (``unique`` filter, by composition key) / decoded samples;
- novel: share of the unique ones not among the training compositions (``novel`` fitted on them);
- smact: share of the unique ones that SMACT accepts (``smact-valid``, default settings:
  Pauling test on, alloys pass);
- train s, samples/s (sampling only, without decoding).

Reference figures (quoted from science.md, on their own settings and sample sizes):
ScGAN (Tables II/III): novel 98.9-99.7 %, unique 58.7-96.8 %; SuperDiff: novel 100 %, unique
99.3-99.98 % (500k samples). These short trainings are not the papers' 400-500 epochs. With
element fractions, unique and novel (compared by fractions to 4 decimals) are near 100 % for any
model with continuous outputs; SMACT validity and Cu+O say more about what was learnt.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import torch  # noqa: E402

from sc_toolkit import load_dataset, load_registry  # noqa: E402

REGISTRY = load_registry()

#: name -> (generator, generator params, encoder, encoder params, label column or None)
MODELS = {
    "wgan-gp": ("wgan-gp", dict(epochs=60, hidden=[128, 128], batch_size=64), "element-fractions",
                dict(max_z=96, min_fraction=0.01), None),
    "scgan": ("wgan-gp", dict(epochs=60, hidden=[256, 256], batch_size=64, noise_dim=128, output="softmax-scaled",
                              optimizer="rmsprop", learning_rate=5e-4), "scgan-onehot", {}, None),
    "lim-wgan": ("lim-wgan", dict(epochs=15, width=0.25, batch_size=64), "lim-matrix", {}, "class_lim"),
    "vae": ("vae", dict(epochs=100), "element-fractions", dict(max_z=96, min_fraction=0.01), None),
    "diffusion": ("diffusion", dict(epochs=100), "element-fractions", dict(max_z=96, min_fraction=0.01), None),
}
REFERENCES = {"ScGAN (Tables II/III)": "novel 98.9-99.7 %, unique 58.7-96.8 %",
              "SuperDiff": "novel 100 %, unique 99.3-99.98 % (500k samples)"}


def cuprates() -> pd.DataFrame:
    table = load_dataset(REGISTRY.dataset("supercon")).table
    table = table[(table["tc"] > 0) & (table["class"] == "cuprate")].reset_index(drop=True)
    return table


def candidate_table(compositions) -> pd.DataFrame:
    """formula / composition_key per sample, as the runner builds it (empty rows: empty strings)."""
    empty = compositions.n_elements == 0
    keys = np.full(len(compositions), "", dtype=object)
    keys[~empty] = compositions[~empty].keys()
    return pd.DataFrame({"formula": compositions.formulas, "composition_key": keys, "empty": empty})


def evaluate(table: pd.DataFrame, training: pd.DataFrame) -> dict[str, float]:
    decoded = table[~table["empty"]].reset_index(drop=True)
    unique = decoded[REGISTRY.get("filter", "unique")().keep(decoded)].reset_index(drop=True)
    novel = REGISTRY.get("filter", "novel")().fit(training).keep(unique)
    smact = REGISTRY.get("filter", "smact-valid")().keep(unique)
    cu_o = REGISTRY.get("filter", "elements")(must_contain=["Cu", "O"]).keep(decoded)
    n = len(table)
    return {
        "decoded %": 100 * len(decoded) / n,
        "Cu+O %": 100 * cu_o.mean() if len(decoded) else float("nan"),
        "unique %": 100 * len(unique) / max(len(decoded), 1),
        "novel %": 100 * novel.mean() if len(unique) else float("nan"),
        "smact %": 100 * smact.mean() if len(unique) else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--diffusion-100k", action="store_true", help="also time 100,000 diffusion samples")
    args = parser.parse_args()
    torch.set_num_threads(1)
    training = cuprates()
    print(f"training rows: {len(training)} SuperCon cuprates with Tc > 0; samples per model: {args.n_samples}; "
          f"torch {torch.__version__}, 1 thread", flush=True)
    rows = []
    for name in args.models.split(","):
        use, params, encoder_name, encoder_params, label = MODELS[name]
        encoder = REGISTRY.get("encoder", encoder_name)(**encoder_params)
        keep = training
        if encoder_name == "lim-matrix":  # H..Pu only
            keep = training[training["formula"].map(lambda f: not any(s in f for s in ("Am", "Cm")))]
        X = encoder.fit(keep).encode(keep)
        y = keep[label].astype(str).to_numpy() if label else None
        model = REGISTRY.get("generator", use)(**params, device="cpu", seed=0)
        start = time.perf_counter()
        model.fit(X, y)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        samples = model.sample(args.n_samples, random_state=0)
        sample_s = time.perf_counter() - start
        metrics = evaluate(candidate_table(encoder.decode(samples)), keep)
        last = {k: round(v, 3) for k, v in model.history_[-1].items() if k != "epoch"}
        rows.append({"model": name, **{k: round(v, 1) for k, v in metrics.items()}, "train s": round(train_s, 1),
                     "samples/s": round(args.n_samples / sample_s), "params": params, "last losses": last})
        print(pd.DataFrame(rows[-1:]).drop(columns=["params", "last losses"]).to_string(index=False),
              "\n  params:", params, "\n  last epoch:", last, flush=True)
        if name == "diffusion" and args.diffusion_100k:
            start = time.perf_counter()
            model.sample(100_000, random_state=1)
            print(f"  diffusion: 100,000 samples ({model.params.sampling_steps} strided steps, no guidance) in "
                  f"{time.perf_counter() - start:.1f} s", flush=True)
    print("\n" + pd.DataFrame(rows).drop(columns=["params", "last losses"]).to_string(index=False))
    for reference, figures in REFERENCES.items():
        print(f"{reference}: {figures}")


if __name__ == "__main__":
    main()
