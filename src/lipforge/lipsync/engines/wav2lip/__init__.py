"""wav2lip: Wav2Lip-family ONNX models on a face crop, driven by a mel spectrogram."""
