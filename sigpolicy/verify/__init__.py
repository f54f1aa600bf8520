"""Verification of signatures for an image: raw blobs now, ImageSignature objects next."""
