"""Visual descriptors: per-frame statistics, motion, palettes, faces and shot scale, pacing.

Frames are numpy uint8 BGR arrays of shape (H, W, 3), as OpenCV uses, at the analysis
resolution (e.g. 320x180). ``descriptors`` computes the ``visual.*`` features of a scene and of
a title, ``faces`` finds frontal faces and the shot scale, ``pacing`` turns shot lengths into
cutting-rate features.
"""
