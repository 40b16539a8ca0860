"""The built-in datasets: one :class:`Dataset` per public source, registered through the
``register_datasets`` hook.

Every file is named with the sha256 of the public copy and a URL to its exact bytes
(``raw.githubusercontent.com/<repo>/<commit>/<path>``). A file with ``url=""`` has no single
public download: it was built from upstream files (a deterministic tarball of an upstream folder,
or an index derived by joining upstream tables; the dataset's description says which). ``sctk data
fetch`` downloads what it can and names those files, which must be copied in by hand.
"""

from __future__ import annotations

from functools import partial

from ..hookspecs import hookimpl
from . import loaders
from .dataset import DataFile, Dataset

_3DSC = ("aimat-lab/3DSC", "8d69ca9c94b83d387378549225d3b7c3af85ca42")
_LEADERBOARD = ("usnistgov/jarvis_leaderboard", "57afc55f94c8a6f4562f73a3173968cd4b2f83b1")
_SUPERCONDUCTOR_VAE = ("jamesconde/superconductor-vae", "046cf0cfcc06cc47454d60a508f5f1f08c931672")
_CRABNET = ("anthony-wang/CrabNet", "457b4d4835737ecbe4dd33e53174bd818bd82143")
_UCI_MIRROR = (
    "Jianqu0817/SuperconductorsCriticalTemperaturesTask1",
    "91827a3bb136dc4e3d0c0bcb7e45879a9b654a0a",
)
_SODNET = ("pincher-chen/SODNet", "9c8fcb5b4b0423deccff458be369372033e72f76")
_DIFFCSP_SC = ("pincher-chen/DiffCSP-SC", "d28fb3d2962da5f6243ceac180e6e16bcf96437d")
_BETE_NET = ("henniggroup/BETE-NET", "56bc783908a60e8a15e31b60018e6f3c3e48f593")

_NO_DOWNLOAD = ""


def _github(source: tuple[str, str], path: str) -> str:
    repository, commit = source
    return f"https://raw.githubusercontent.com/{repository}/{commit}/{path}"


_LEADERBOARD_SPP = "jarvis_leaderboard/benchmarks/AI/SinglePropertyPrediction"
_NIST_TERMS = (
    "NIST terms of use (JARVIS-Leaderboard LICENSE.rst): work of US-government employees, not subject "
    "to US copyright; use, copy, modify and distribute with notice."
)

SUPERCON = Dataset(
    name="supercon",
    folder="supercon_stanev2018",
    files=(
        DataFile(
            "Supercon_data_by_2018_Stanev.csv",
            _github(_3DSC, "superconductors_3D/data/source/SuperCon/raw/Supercon_data_by_2018_Stanev.csv"),
            "b34a955cc59f7a1556bc92c4b9db559bfd634c03227b7e95337a2e5d69227dd6",
        ),
        DataFile(
            "jarvis_leaderboard_supercon_chem_Tc.json.zip",
            _github(_LEADERBOARD, f"{_LEADERBOARD_SPP}/supercon_chem_Tc.json.zip"),
            "930d99becfb4d5157461b6211d642d030eb610d4ee483e999a15b3cc296f1cd3",
        ),
    ),
    description=(
        "SuperCon formulas and Tc (K) as used by Stanev et al. 2018: 16,414 rows, 3,966 with Tc = 0 "
        "(no Tc reported), via the 3DSC repository; plus the JARVIS-Leaderboard train/test split "
        "of the same entries (keys are row indices of JARVIS supercon_chem)."
    ),
    licence=(
        "3DSC LICENSE.md: database CC BY 4.0, code MIT; the raw table is SuperCon/Stanev data "
        "redistributed there (treat as CC BY 4.0 with attribution). Split file: " + _NIST_TERMS
    ),
    citation=(
        "V. Stanev et al., Machine learning modeling of superconducting critical temperature, "
        "npj Comput. Mater. 4, 29 (2018); NIMS SuperCon database; T. Sommer et al., 3DSC, "
        "Sci. Data 10, 816 (2023)."
    ),
    loader=loaders.load_supercon,
)

SUPERCON_NIMS_RAW = Dataset(
    name="supercon-nims-raw",
    folder="supercon_nims_raw",
    files=(
        DataFile(
            "supercon_raw.tsv",
            _github(_SUPERCONDUCTOR_VAE, "data/raw/raw.tsv"),
            "66cb67af1d1914f8f28e4aae5a0377992755c6cc166bc3f0a160f8c59cc77320",
        ),
    ),
    description=(
        "Raw NIMS SuperCon OXIDE & METALLIC export (26,321 measurements: formula with -X/+Y/z "
        "oxygen markers, Tc, structure name, journal), mirrored in jamesconde/superconductor-vae. "
        "The loader strips oxygen-deviation markers (recorded in oxygen_marker), rejects oxygen of "
        "unknown amount, flags implausible entries and aggregates by composition (docs/data.md)."
    ),
    licence=(
        "Unverified: the mirror has no LICENSE file; NIMS publishes the MDR SuperCon datasheet under "
        "CC BY 4.0 but this export's release is not stated. Cite NIMS SuperCon; do not redistribute."
    ),
    citation="NIMS SuperCon database, https://supercon.nims.go.jp (MDR SuperCon datasheet).",
    loader=loaders.load_supercon_nims_raw,
    redistributable=False,
)

UCI_SUPERCONDUCTIVITY = Dataset(
    name="uci-superconductivity",
    folder="uci_superconductivity",
    files=(
        DataFile(
            "unique_m_elements_tc.csv",
            _github(_UCI_MIRROR, "data_1.csv"),
            "ab01769f57a59e6a04513d010be82707236a2702e1ab71a8ddf7063d27a74a84",
        ),
    ),
    description=(
        "Hamidieh 2018 UCI 'Superconductivty Data' unique_m.csv without its formula column: 86 element "
        "counts + Tc (K) for 21,263 rows, from a third-party mirror."
    ),
    licence=(
        "The mirror has no LICENSE file; UCI lists dataset 464 under CC BY 4.0 (not re-checked). "
        "Do not redistribute this copy."
    ),
    citation=(
        "K. Hamidieh, A data-driven statistical model for predicting the critical temperature of a "
        "superconductor, Comput. Mater. Sci. 154, 346-354 (2018); UCI ML Repository, dataset 464."
    ),
    loader=loaders.load_uci_superconductivity,
    redistributable=False,
)

_OQMD_DIR = "data/benchmark_data"
OQMD = Dataset(
    name="oqmd",
    folder="oqmd_crabnet",
    files=tuple(
        DataFile(name, _github(_CRABNET, f"{_OQMD_DIR}/{task}/{split}.csv"), sha256)
        for name, task, split, sha256 in (
            ("OQMD_Bandgap_train.csv", "OQMD_Bandgap", "train",
             "8611a9f1f76ad06d846890d2234e6b37909abd941c156cdc339447bbcce3ada7"),
            ("OQMD_Bandgap_val.csv", "OQMD_Bandgap", "val",
             "7838750eb3b5b09ec296b0fbf194271f6588b4bcd4653e392aba6df04c645002"),
            ("OQMD_Bandgap_test.csv", "OQMD_Bandgap", "test",
             "59206d9cf13387a6cbf5a155f5b350043aee2f190663bb9baf97a6ee85e63d55"),
            ("OQMD_Formation_Enthalpy_val.csv", "OQMD_Formation_Enthalpy", "val",
             "af138c2bfed3a8eb8fc2e202690fae94190e0e64258625ce1612df45298193d4"),
            ("OQMD_Formation_Enthalpy_test.csv", "OQMD_Formation_Enthalpy", "test",
             "773275807866c98cef1d36887e2f33cf3a3bb0428fc8faf6912cdcff19961172"),
        )
    ),  # fmt: skip
    description=(
        "OQMD compositions from CrabNet's benchmark tables: 341,608 with DFT band gap (train/val/test) "
        "and 102,510 with formation enthalpy (val/test; the train split is not in the repository)."
    ),
    licence="CrabNet LICENSE.md: MIT. Underlying data: OQMD, CC BY 4.0.",
    citation=(
        "J. E. Saal et al., JOM 65, 1501 (2013); S. Kirklin et al., npj Comput. Mater. 1, 15010 (2015); "
        "A. Y.-T. Wang et al. (CrabNet), npj Comput. Mater. 7, 77 (2021)."
    ),
    loader=loaders.load_oqmd,
)

MP_E_FORM = Dataset(
    name="mp-e-form",
    folder="matbench_mp_e_form",
    files=(
        DataFile(
            "mp_e_form.csv",
            _github(_CRABNET, "data/matbench/mp_e_form.csv"),
            "90e895635c96447c5be4e9070d26f26e1b4d17925102a6597ae3c4d79c32555b",
        ),
    ),
    description=(
        "Matbench v0.1 mp_e_form as a composition table (CrabNet): 132,752 Materials Project entries, "
        "formula and DFT formation energy (eV/atom); polymorphs repeat a formula."
    ),
    licence="CrabNet LICENSE.md: MIT. Underlying data: Materials Project via Matbench, CC BY 4.0.",
    citation=(
        "A. Dunn et al., Benchmarking materials property prediction methods: the Matbench test set and "
        "Automatminer, npj Comput. Mater. 6, 138 (2020); A. Jain et al., APL Mater. 1, 011002 (2013)."
    ),
    loader=loaders.load_mp_e_form,
)

JARVIS_DFT_3D = Dataset(
    name="jarvis-dft-3d",
    folder="jarvis_dft_3d",
    files=(
        DataFile(
            "jarvis_dft_3d.csv",
            _github(_SUPERCONDUCTOR_VAE, "data/raw/jarvis_dft_3d.csv"),
            "3716783feb93252474428379982d8840c433309c4438cdf5e1425e00bd69b19d",
        ),
    ),
    description=(
        "Composition-level export of JARVIS-DFT dft_3d (75,993 entries): jid, formula, OptB88vdW "
        "formation energy (eV/atom), band gaps, E_hull; mirrored in jamesconde/superconductor-vae."
    ),
    licence=(
        "The mirror has no LICENSE file; the data are NIST JARVIS-DFT public data "
        "(figshare doi:10.6084/m9.figshare.6815699). Do not redistribute this copy."
    ),
    citation="K. Choudhary et al., The joint automated repository for various integrated simulations "
    "(JARVIS) for data-driven materials design, npj Comput. Mater. 6, 173 (2020).",
    loader=loaders.load_jarvis_dft_3d,
    redistributable=False,
)

THREE_DSC = Dataset(
    name="3dsc",
    folder="3dsc",
    files=(
        DataFile(
            "3DSC_ICSD_only_IDs.csv",
            _github(_3DSC, "superconductors_3D/data/final/ICSD/3DSC_ICSD_only_IDs.csv"),
            "5418d596e167725005b2abbc6d948a39a394ed8e63ab47f1851c91c9ffd5ba7d",
        ),
        DataFile(
            "3DSC_MP_cif_index.csv",
            _NO_DOWNLOAD,
            "d2f541f5b9d129d2b1bd80e4311bfb48ee39dfa1600ab2a5a2eb67e012e558a8",
        ),
        DataFile(
            "3DSC_MP_cifs.tar.gz",
            _NO_DOWNLOAD,
            "197d6d0fe69bae513e55a8e36fba34b6ca3cfe5903a140b45229c2acd7275a00",
        ),
    ),
    description=(
        "3DSC: SuperCon entries matched to crystal structures. 3DSC_ICSD_only_IDs.csv is upstream "
        "(86,490 rows, ICSD ids only). 3DSC_MP_cifs.tar.gz is a deterministic tar (sorted, fixed mtime) "
        "of the 10,904 CIFs in upstream superconductors_3D/data/final/MP/cifs/, and "
        "3DSC_MP_cif_index.csv is derived from the CIF names joined with the ICSD table's tc; neither "
        "has a single public download. The loader returns the index with each CIF's text."
    ),
    licence="3DSC LICENSE.md: the 3DSC_MP database is CC BY 4.0, code MIT; MP structures CC BY 4.0.",
    citation="T. Sommer et al., 3DSC - a dataset of superconductors including crystal structures, "
    "Sci. Data 10, 816 (2023).",
    loader=loaders.load_3dsc_index,
    kind="structure",
)

_SODNET_DIR = "datasets/SuperCon"
SUPERCON3D = Dataset(
    name="supercon3d",
    folder="supercon3d_sodnet",
    files=(
        DataFile(
            "df_all_data1202.csv",
            _github(_SODNET, f"{_SODNET_DIR}/df_all_data1202.csv"),
            "c67e2aa94f95ce63b85265d8cada591f001c705efd4e53804dc854ddcbe9c449",
        ),
        DataFile(
            "SuperCon_11949.csv",
            _github(_SODNET, f"{_SODNET_DIR}/SuperCon_11949.csv"),
            "cc9545a19da63296e103750d4d6c582eabca1876fefb524360129f2b614ae617",
        ),
        DataFile(
            "reference_part.csv",
            _github(_SODNET, f"{_SODNET_DIR}/reference_part.csv"),
            "83eadcb2f6cb011bd0d8cda416de6a131ff9308a120f941fceb1a604b4ea2f76",
        ),
        DataFile(
            "UPSTREAM_README_datasets_SuperCon.md",
            _github(_SODNET, f"{_SODNET_DIR}/README.md"),
            "1d573c4cce7162d39ded2717abbe4818045dceac43a2dbe623a79dff2c4bb92c",
        ),
        DataFile(
            "SuperCon3D_cifs.tar.gz",
            _NO_DOWNLOAD,
            "b57d8173975212118fd54958ab7da62bf3acddfa12c5b60617047be2401707b4",
        ),
        *(
            DataFile(
                f"diffcsp_sc_splits/{split}.csv",
                _github(_DIFFCSP_SC, f"data/properties/SuperCon/{split}.csv"),
                sha,
            )
            for split, sha in (
                ("train", "9f0d814a5293642a0f6799b3d161d8e4f613d9a15ff37cb87f9cca98ba25f7d6"),
                ("val", "64a71345bb1d73b822824e51607c9134f08b912c6361973457dea89f5060ee66"),
                ("test", "4ba1673892c0ab1f716a0702741f062cf7b3a00e7b9c10ebced548a6410bdf2a"),
            )
        ),
    ),  # fmt: skip
    description=(
        "SuperCon3D (SODNet): 1,578 ICSD-derived CIFs (562 disordered) with Tc, family and order labels; "
        "11,949 SuperCon formulas; DOI references; DiffCSP-SC's ordered train/val/test splits. "
        "SuperCon3D_cifs.tar.gz is a tar of upstream datasets/SuperCon/cif/ (no single public download). "
        "The loader returns the label table with each CIF's text."
    ),
    licence=(
        "None: neither SODNet nor DiffCSP-SC has a LICENSE file and the structures derive from ICSD "
        "(proprietary). Internal research only; never redistribute."
    ),
    citation="P. Chen et al., Learning Superconductivity from Ordered and Disordered Material "
    "Structures, NeurIPS 2024 Datasets and Benchmarks.",
    loader=loaders.load_supercon3d_index,
    kind="structure",
    redistributable=False,
)

_ATOMGEN = "jarvis_leaderboard/benchmarks/AI/AtomGen"
JARVIS_SUPERCON = Dataset(
    name="jarvis-supercon",
    folder="jarvis_supercon",
    files=(
        DataFile(
            "atomgen_dft_3d_Tc_supercon.json.zip",
            _github(_LEADERBOARD, f"{_ATOMGEN}/dft_3d_Tc_supercon.json.zip"),
            "dcbe3bfedf21a66dd8b4c02589659f1ba6e25bf0fd1e805e358f02a4c2c6b615",
        ),
        DataFile(
            "spp_dft_3d_Tc_supercon.json.zip",
            _github(_LEADERBOARD, f"{_LEADERBOARD_SPP}/dft_3d_Tc_supercon.json.zip"),
            "e34fe109057b9dd7b4ae50b18fdec70cc156b6a994a02ec6f57f5c365f8a06dc",
        ),
        DataFile(
            "spp_dft_3d_Tc_supercon_hydride.json.zip",
            _github(_LEADERBOARD, f"{_LEADERBOARD_SPP}/dft_3d_Tc_supercon_hydride.json.zip"),
            "c553dda2d5657e6f588ebc47b9c6ae724aacabd1207dda66e3e73e0771aa0920",
        ),
        DataFile(
            "jarvis_supercon_3d.csv",
            _github(_SUPERCONDUCTOR_VAE, "data/raw/jarvis_supercon_3d.csv"),
            "7b8f0df8d28821830d2b580e4b04263eef761d2a05cdd3c8c93fc31d446109e2",
        ),
        DataFile(
            "dft_superconductors.csv",
            _github(_SUPERCONDUCTOR_VAE, "data/processed/dft_superconductors.csv"),
            "7236864c7b65ab373270594411bef2210223a70bec09f73aeed0635ae6167fe1",
        ),
        DataFile(
            "jarvis_supercon_3d_merged.csv",
            _NO_DOWNLOAD,
            "ef8226fc09ef306da8bfdf0cab6efd975521f2b78688fddd654e333a54ac951e",
        ),
    ),
    description=(
        "JARVIS BCS superconductors: POSCARs and leaderboard splits for the 1,058 supercon_3d materials "
        "(DFT Tc), a 953-entry hydride Tc benchmark (no structures), and lambda / omega_log / Tc for "
        "9,612 materials (JARVIS + Alexandria). jarvis_supercon_3d_merged.csv is derived (join on jid "
        "with jarvis-dft-3d formulas and the leaderboard POSCARs); the loader returns it with lambda and "
        "omega_log joined from dft_superconductors.csv and each POSCAR as CIF text."
    ),
    licence=(
        "Leaderboard files: " + _NIST_TERMS + " jarvis_supercon_3d.csv and dft_superconductors.csv come "
        "from a mirror without a LICENSE file: do not redistribute."
    ),
    citation=(
        "K. Choudhary and K. Garrity, Designing high-Tc superconductors with BCS-inspired screening, "
        "density functional theory, and deep-learning, npj Comput. Mater. 8, 244 (2022); K. Choudhary "
        "et al., JARVIS-Leaderboard, npj Comput. Mater. 10, 93 (2024)."
    ),
    loader=loaders.load_jarvis_supercon_index,
    kind="structure",
    redistributable=False,
)

BETE_NET = Dataset(
    name="bete-net",
    folder="bete_net",
    files=(
        DataFile(
            "structures_cifs.tar.gz",
            _NO_DOWNLOAD,
            "4a00a5b6530f22512161993c61b8430b95a50da3ac8b00098ee890fb7a08035d",
        ),
        DataFile(
            "idx_train_full.txt",
            _github(_BETE_NET, "indices/idx_train_full.txt"),
            "56094177b38652e38ecf7bb4630eaad035b61323ea52191759c7255e0b79c53b",
        ),
        DataFile(
            "idx_test_full.txt",
            _github(_BETE_NET, "indices/idx_test_full.txt"),
            "71a18c384517452faf55b8bcb7db11d0bb7dc4102c82a7bc93cd6743096cb4b8",
        ),
        DataFile(
            "bootstrap_indices_V2.tar.gz",
            _NO_DOWNLOAD,
            "bb03b29d627095f2dadefbb8f6056220a76f5d45ef5bb780e120ffa26b0fabc2",
        ),
    ),
    description=(
        "BETE-NET's 806 electron-phonon training structures (CIF) with train/test and 201 bootstrap "
        "index sets; the alpha2F targets (database.json) are not public. The tarballs pack upstream "
        "structures/ and indices/idx_{train,valid}_V2_*.txt (no single public download). The loader "
        "returns the structure index with the train/test split and each CIF's text."
    ),
    licence="BETE-NET LICENSE: Apache License 2.0.",
    citation="J. B. Gibson et al., Accelerating superconductor discovery through tempered deep learning "
    "of the electron-phonon spectral function, arXiv:2401.16611 (npj Comput. Mater. 2025).",
    loader=loaders.load_bete_net_index,
    kind="structure",
)

#: ``folder`` of a dataset built from other datasets' files: its file names are paths below the
#: data folder (``$SCTK_DATA_DIR`` or the cache), ``<source folder>/<file>``, so it reads, checks and
#: downloads the very copies of its sources.
DATA_ROOT = "."


def _reused(source: Dataset, *names: str) -> tuple[DataFile, ...]:
    """The files ``names`` of ``source`` as files of a :data:`DATA_ROOT` dataset (same URL and sha256)."""
    files = {file.name: file for file in source.files}
    return tuple(DataFile(f"{source.folder}/{name}", files[name].url, files[name].sha256) for name in names)


WIDE_GAP_INSULATORS = Dataset(
    name="wide-gap-insulators",
    folder=DATA_ROOT,
    files=(
        *_reused(JARVIS_DFT_3D, "jarvis_dft_3d.csv"),
        *_reused(SUPERCON, "Supercon_data_by_2018_Stanev.csv"),
    ),
    description=(
        "Non-superconductor references built from the files of jarvis-dft-3d and supercon (no file of "
        "its own): JARVIS-DFT compositions with a DFT band gap >= 2 eV (TBmBJ where JARVIS has it, else "
        "OptB88vdW) and an OptB88vdW gap >= 1 eV, E_hull <= 0.1 eV/atom, two or more elements, all of them found in SuperCon, not in "
        "SuperCon (any Tc) and not within 10 % of atoms of a SuperCon superconductor (a doped parent); "
        "tc = 0 and SuperCon's columns, as negatives for a superconductor classifier (docs/data.md)."
    ),
    licence=(
        "Derived data. jarvis-dft-3d: NIST JARVIS-DFT public data from a mirror without a LICENSE file "
        "(do not redistribute this copy); supercon: CC BY 4.0 with attribution (3DSC)."
    ),
    citation=(
        "K. Choudhary et al., JARVIS, npj Comput. Mater. 6, 173 (2020); V. Stanev et al., npj Comput. "
        "Mater. 4, 29 (2018); NIMS SuperCon database."
    ),
    loader=partial(loaders.load_wide_gap_insulators, jarvis=JARVIS_DFT_3D.folder, supercon=SUPERCON.folder),
    redistributable=False,
)

#: Every built-in dataset, in the order ``sctk data list`` shows them.
DATASETS: tuple[Dataset, ...] = (
    SUPERCON,
    SUPERCON_NIMS_RAW,
    UCI_SUPERCONDUCTIVITY,
    OQMD,
    MP_E_FORM,
    JARVIS_DFT_3D,
    THREE_DSC,
    SUPERCON3D,
    JARVIS_SUPERCON,
    BETE_NET,
    WIDE_GAP_INSULATORS,
)


@hookimpl
def register_datasets(register):
    """Register every built-in dataset."""
    for dataset in DATASETS:
        register(dataset)
