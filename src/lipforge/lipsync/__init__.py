"""Lip-sync: face tracking, engines (meshwarp default, wav2lip ONNX) and the frame pipeline."""
