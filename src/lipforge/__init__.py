"""LipForge: one driving audio plus many face videos in, lip-synced MP4s out."""

__version__ = "0.1.0"
