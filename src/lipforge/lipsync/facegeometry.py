"""Whether FaceMesh's landmarks have the layout of a human face, not of a cat or a pattern.

FaceMesh fits its human mesh to whatever its detector fired on, so a cat's head comes back
as 468 landmarks too; but fitted to a cat the mesh is distorted: too wide for its eyes,
flat (the nose barely ahead of the cheeks), the nose and mouth off the middle or in the
wrong place. `has_human_layout` measures seven proportions in the frame of the eyes (in
inter-ocular distances, so they hold at any size, roll and re-encoding) and accepts a mesh
when the nose lies between the eyes and the mouth and at most one proportion falls outside
the range human faces span. The ranges were measured on the astronaut and Grace Hopper
photos (320x240 to 1920x1080, yawed ±30°, rolled ±20°, close-up, small in a wide shot, on a
box) and the 100 faces of skimage's LFW subset (95 % accepted on a single still); every
FaceMesh fit on skimage's cat (chelsea, 25 sizes and crops) has two outside or more, or
holds for fewer than the consecutive frames the tracker asks for (see `faces.py`). It says
nothing of a photo versus a person (a printed face is a human face) and does not run
FaceMesh itself.
"""

from __future__ import annotations

import numpy as np

RIGHT_EYE = (33, 133)  # outer and inner corner of the eye on the image's left
LEFT_EYE = (263, 362)
NOSE_TIP = 1
MOUTH_CORNERS = (61, 291)
CHEEKS = (234, 454)  # the mesh's outermost points at cheek height
MIN_EYE_DISTANCE_PX = 1.0

# (low, high) of each proportion on human faces; lengths in inter-ocular distances
FACE_WIDTH_IOD = (1.9, 2.5)  # the mesh's extent along the eye line
HEIGHT_PER_WIDTH = (0.88, 1.35)  # the mesh's extent across the eye line, per its width
DEPTH_PER_WIDTH = (0.62, 0.88)  # the mesh's z range per its width
NOSE_AHEAD_PER_WIDTH = (-0.8, -0.58)  # nose tip z minus the cheeks' z, per width (ahead < 0)
NOSE_BELOW_EYES_IOD = (0.38, 0.86)
MOUTH_BELOW_EYES_IOD = (0.75, 1.25)
OFF_CENTRE_IOD = (0.0, 0.35)  # nose tip's and mouth centre's distances from the face's midline
MAX_ATYPICAL_PROPORTIONS = 1


def has_human_layout(landmarks: np.ndarray) -> bool:
    """True when (468, 3) FaceMesh landmarks (pixels) are laid out as a human face's are."""
    proportions = face_proportions(landmarks)
    if proportions is None:
        return False
    nose, mouth = proportions["nose_below_eyes"], proportions["mouth_below_eyes"]
    if not 0.0 < nose < mouth:
        return False
    atypical = sum(
        not low <= proportions[name] <= high for name, (low, high) in HUMAN_RANGES.items()
    )
    return atypical <= MAX_ATYPICAL_PROPORTIONS


def face_proportions(landmarks: np.ndarray) -> dict[str, float] | None:
    """The proportions `has_human_layout` judges, by name; None when the eyes coincide."""
    points = np.asarray(landmarks, np.float64)
    right, left = points[list(RIGHT_EYE)].mean(axis=0), points[list(LEFT_EYE)].mean(axis=0)
    eye_distance_px = float(np.linalg.norm(left[:2] - right[:2]))
    if eye_distance_px < MIN_EYE_DISTANCE_PX:
        return None
    along = (left[:2] - right[:2]) / eye_distance_px
    across = np.array([-along[1], along[0]])  # points down the face in image coordinates
    offsets = points[:, :2] - (left[:2] + right[:2]) / 2
    u, v = offsets @ along / eye_distance_px, offsets @ across / eye_distance_px
    width = float(u.max() - u.min())
    width_px = width * eye_distance_px
    mouth_u, mouth_v = u[list(MOUTH_CORNERS)].mean(), v[list(MOUTH_CORNERS)].mean()
    depth = points[:, 2]
    return {
        "face_width": width,
        "height_per_width": float(v.max() - v.min()) / width,
        "depth_per_width": float(depth.max() - depth.min()) / width_px,
        "nose_ahead": float(depth[NOSE_TIP] - depth[list(CHEEKS)].mean()) / width_px,
        "nose_below_eyes": float(v[NOSE_TIP]),
        "mouth_below_eyes": float(mouth_v),
        "off_centre": float(abs(u[NOSE_TIP]) + abs(mouth_u)),
    }


HUMAN_RANGES = {
    "face_width": FACE_WIDTH_IOD,
    "height_per_width": HEIGHT_PER_WIDTH,
    "depth_per_width": DEPTH_PER_WIDTH,
    "nose_ahead": NOSE_AHEAD_PER_WIDTH,
    "nose_below_eyes": NOSE_BELOW_EYES_IOD,
    "mouth_below_eyes": MOUTH_BELOW_EYES_IOD,
    "off_centre": OFF_CENTRE_IOD,
}
