"""fvtrain: trains the Siamese face-embedding network and exports it to ONNX."""

__version__ = "0.1.0"
