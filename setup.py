"""Installs the HDAC-HF reference software (apps and libraries from ReferenceSoftware/)."""
from setuptools import find_packages, setup

setup(
    name="hdac-hf-reference-software",
    version="0.1.0",
    description="HDAC-HF generative face video codec: reference encoder, decoder, trainer and evaluation",
    python_requires=">=3.10",
    package_dir={"": "ReferenceSoftware"},
    packages=find_packages("ReferenceSoftware"),
    package_data={"CommonLib": ["resources/models/*.safetensors", "resources/models/*.hfim", "resources/models/*.json",
                                "resources/clips/*.y4m"]},
    include_package_data=True,
    install_requires=[
        "torch==2.13.0",
        "numpy>=1.26",
        "av==18.1.0",                # its libx265 / libavcodec 62.28.102 made the committed x265 points and base layers
        "bitstring>=4.4,<5",
        "scipy>=1.11",
        "pyyaml>=6",
        "tqdm>=4.66",
        "safetensors>=0.4",
        "matplotlib>=3.8",
        "bjontegaard==1.3.0",
    ],
    extras_require={"test": ["pytest>=8", "pytest-benchmark>=4", "hypothesis>=6", "atheris>=2.3", "coverage>=7"]},
)
