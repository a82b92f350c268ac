"""Face tracking for the lip-sync pipeline: one face's 468 landmarks per frame, smoothed over time.

`FaceTracker` runs MediaPipe FaceMesh (the legacy `solutions` API of mediapipe 0.10.21, whose
wheel carries the models, so nothing is downloaded) in tracking mode on frames pushed in
order. It follows one face: the largest at first, then whichever detection overlaps the
previous one, so it never jumps to another person in the shot. Results come out after a
small fixed look-ahead: landmarks smoothed with a centred window (no lag on head motion),
detection gaps up to `MAX_GAP_S` filled by linear interpolation, longer gaps left as None
(the engine then passes those frames through). It raises NoFaceError when no face shows up
in the first `search_s` seconds. FaceMesh's detector misses faces that are small next to the
frame (a presenter in a wide half-body shot), so when a frame shows no face, overlapping
square windows (the short side, then half of it) are searched, and a face found there is
tracked in a window of that size that follows it. Any face, once found, is tracked in a square
window about twice its size that follows it (less for MediaPipe to copy and scale than the
whole frame); when the face is lost there for longer than a gap, the whole frame is searched
again. It does not decode video or touch the audio.

Only human faces count, judged twice over: a FaceMesh fit whose landmarks are not laid out as
a human face's (`facegeometry`: a cat, a pattern) is dropped, and a face counts as found only
once it was seen on `CONFIRM_DETECTIONS` MediaPipe runs in a row with, on each of them, MediaPipe's
face detector (BlazeFace, the short-range model FaceMesh itself starts from) scoring at least
`CONFIRM_MIN_SCORE` on the face cut out upright around the fit. The mesh is a human prior that
bends to fit whatever it is put on, so its layout alone is a thin verdict (a cat's muzzle passed
it on half its fits, and on 8 in a row in one process out of many); the detector judges the
pixels and scores a cat's head 0 to 0.57, real faces 0.85 to 0.94 (90 % of skimage's 25-pixel
grey LFW faces 0.7 and up). Probing a clip and rendering it refuse the same clips with the same
NoFaceError.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from lipforge.errors import NoFaceError
from lipforge.lipsync.facegeometry import LEFT_EYE, RIGHT_EYE, has_human_layout

LANDMARK_COUNT = 468
MAX_GAP_S = 0.5
SMOOTH_RADIUS_FRAMES = 2
SMOOTH_WEIGHTS = np.array([1.0, 2.0, 3.0, 2.0, 1.0])  # centred, 2 * SMOOTH_RADIUS_FRAMES + 1 taps
DETECT_MAX_SIDE_PX = 1280
MAX_FACES = 3
MIN_DETECTION_CONFIDENCE = 0.5
MIN_TRACKING_CONFIDENCE = 0.5
MIN_FOLLOW_IOU = 0.2
WINDOW_SEARCH_EVERY_FRAMES = 5  # while no face is found, search square windows this often
WINDOW_LEVELS = 2  # window sides searched: the frame's short side, then half of it
WINDOW_RECENTRE_SHARE = 0.05  # re-centre the window in small steps (of its side) as the face moves
TRACK_WINDOW_FACES = 2.2  # once found, a face is tracked in a square this many face sizes wide
TRACK_WINDOW_MIN_PX = 192
# MediaPipe runs on every other frame of a followed face (talking heads move slowly; the
# landmarks are smoothed over SMOOTH_RADIUS_FRAMES either side anyway), halving its cost
DETECT_EVERY_FRAMES = 2
SETTLE_DETECTIONS = 8  # ... once it has followed the face on this many frames in a row
RESETTLE_RUNS = 3  # a face's first frame is fitted again this many times
CONFIRM_DETECTIONS = 8  # a face is found once seen with a human layout this many runs in a row
CONFIRM_MIN_SCORE = 0.7  # ... and BlazeFace scoring it this much on each (see the docstring)
CONFIRM_CROP_FACES = 2.0  # the upright cut BlazeFace judges is this many face sizes wide
CONFIRM_CROP_PX = 192

Landmarks = np.ndarray  # (468, 3) float32, pixels (x, y, z) of the frame as given
Result = tuple[int, Landmarks | None]
Window = tuple[int, int, int]  # x0, y0, side: a square part of the frame


class FaceTracker:
    """Push frames in order; get back (frame index, landmarks or None) once they are final."""

    def __init__(self, fps: float, source_name: str, search_s: float = 10.0) -> None:
        import mediapipe as mp

        self.fps = float(fps)
        self.source_name = source_name
        self.search_s = float(search_s)
        self.max_gap_frames = max(1, round(MAX_GAP_S * self.fps))
        self.lookahead_frames = self.max_gap_frames + SMOOTH_RADIUS_FRAMES + 1
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False,
            max_num_faces=MAX_FACES,
            refine_landmarks=False,
            min_detection_confidence=MIN_DETECTION_CONFIDENCE,
            min_tracking_confidence=MIN_TRACKING_CONFIDENCE,
        )
        self._raw: dict[int, Landmarks] = {}  # detections still needed for smoothing/gaps
        self._pending: deque[int] = deque()  # frame indices pushed but not yet returned
        self._last_index = -1
        self._followed: Landmarks | None = None
        self._followed_index = -1
        self._first_found_index: int | None = None
        self._flushing = False
        self._window: Window | None = None
        self._search_mesh = None
        self._skipped: set[int] = set()  # frames MediaPipe did not look at (between detections)
        self._settled = 0  # detections in a row: MediaPipe settles over a few frames
        self._detector = None  # BlazeFace, while no face is confirmed yet

    def push(self, index: int, frame: np.ndarray) -> list[Result]:
        """Track `frame` (RGB uint8, H x W x 3); return the results that became final, in order."""
        if index <= self._last_index:
            raise ValueError(f"frame {index} pushed after frame {self._last_index}; push in order")
        self._last_index = index
        self._pending.append(index)
        if self._between_detections(index):
            self._skipped.add(index)
            return self._emit(final_before=index - self.lookahead_frames + 1)
        searched = self._window is None
        followed = landmarks = self._follow(index, self._detect(index, frame))
        if landmarks is not None and self._first_found_index is None:
            landmarks = landmarks if self._detector_agrees(frame, landmarks) else None
        if landmarks is not None and self._settled == 0 and (self._window is None or not searched):
            landmarks = self._resettled(frame, landmarks)
        self._settled = 0 if landmarks is None else self._settled + 1
        # the tracking goes on from MediaPipe's own fit, so the refit changes only what is emitted
        if followed is not None and self._window is None:
            self._window = _tracking_window(followed, frame.shape)
        elif followed is not None:
            self._recentre(followed, frame.shape)
        if landmarks is not None:
            self._raw[index] = landmarks
            self._confirm()
        elif self._first_found_index is None:  # sightings too short to count are not tracked
            self._forget_before(index - self.max_gap_frames)
        self._check_search_window(index)
        return self._emit(final_before=index - self.lookahead_frames + 1)

    def _resettled(self, frame: np.ndarray, landmarks: Landmarks) -> Landmarks:
        """A face's first landmarks, fitted again on the same frame from where the last fit put
        them (as MediaPipe's tracking does from one frame to the next): a first fit is off by up
        to 3 % in scale and 3 px on the lips, and settles over about four frames otherwise. A
        graph of its own does it, and neither the followed face nor the window takes its fit, so
        the tracking of the next frames (and whether a face counts as human) goes on as before. Not
        for a face found by the window search (its window is sized for the search)."""
        import mediapipe as mp

        window = self._window or _tracking_window(landmarks, frame.shape)
        with mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False,
            max_num_faces=MAX_FACES,
            refine_landmarks=False,
            min_detection_confidence=MIN_DETECTION_CONFIDENCE,
            min_tracking_confidence=MIN_TRACKING_CONFIDENCE,
        ) as mesh:
            for _ in range(RESETTLE_RUNS + 1):  # the first run finds the face again
                faces = _run_mesh(mesh, frame, window)
                overlaps = [_bbox_iou(landmarks, face) for face in faces]
                if not faces or max(overlaps) < MIN_FOLLOW_IOU:
                    break
                landmarks = faces[int(np.argmax(overlaps))]
        return landmarks

    def _detector_agrees(self, frame: np.ndarray, landmarks: Landmarks) -> bool:
        """Whether BlazeFace sees a face where the mesh was fitted (only until one is confirmed)."""
        if self._detector is None:
            import mediapipe as mp

            self._detector = mp.solutions.face_detection.FaceDetection(
                model_selection=0, min_detection_confidence=CONFIRM_MIN_SCORE
            )
        return face_detector_score(self._detector, frame, landmarks) >= CONFIRM_MIN_SCORE

    def _confirm(self) -> None:
        """The face is found once seen on CONFIRM_DETECTIONS runs in a row (and from the first
        sighting before them that a short gap separates)."""
        if self._first_found_index is None and self._settled >= CONFIRM_DETECTIONS:
            self._first_found_index = min(self._raw)
            if self._detector is not None:  # never asked again in this video
                self._detector.close()
                self._detector = None

    def _between_detections(self, index: int) -> bool:
        """While a face is followed, MediaPipe runs on every DETECT_EVERY_FRAMES-th frame only;
        the frames between are filled by interpolation (as short gaps are), then smoothed."""
        return (
            DETECT_EVERY_FRAMES > 1
            and index % DETECT_EVERY_FRAMES != 0
            and self._followed is not None
            and self._followed_index == index - 1
            and self._settled >= SETTLE_DETECTIONS
        )

    def flush(self) -> list[Result]:
        """Return every result still held back; call once after the last frame."""
        if self._first_found_index is None and self._last_index >= 0:
            self._raise_no_face((self._last_index + 1) / self.fps)
        self._flushing = True
        return self._emit(final_before=self._last_index + 1)

    def close(self) -> None:
        """Free MediaPipe's graph; the tracker cannot be used afterwards."""
        for graph in (self._mesh, self._search_mesh, self._detector):
            if graph is not None:
                graph.close()
        self._mesh = self._search_mesh = self._detector = None

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _detect(self, index: int, frame: np.ndarray) -> list[Landmarks]:
        if self._window is not None:
            faces = _run_mesh(self._mesh, frame, self._window)
            if not faces and index - self._followed_index > self.max_gap_frames:
                self._window = None
            return faces
        faces = _run_mesh(self._mesh, frame, None)
        if faces or index % WINDOW_SEARCH_EVERY_FRAMES:
            return faces
        return self._search_windows(frame)

    def _search_windows(self, frame: np.ndarray) -> list[Landmarks]:
        """Look for faces in square windows, larger ones first (single-image detection)."""
        if self._search_mesh is None:
            import mediapipe as mp

            self._search_mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True,
                max_num_faces=MAX_FACES,
                min_detection_confidence=MIN_DETECTION_CONFIDENCE,
            )
        for windows in _search_windows(frame.shape):
            found = [(face, window) for window in windows for face in self._faces_in(frame, window)]
            if found:
                face, window = max(found, key=lambda pair: _bbox_area(pair[0]))
                self._window = _window_around(face, frame.shape, window[2])
                return [face for face, _ in found]
        return []

    def _faces_in(self, frame: np.ndarray, window: Window) -> list[Landmarks]:
        return _run_mesh(self._search_mesh, frame, window)

    def _recentre(self, landmarks: Landmarks, shape: tuple[int, ...]) -> None:
        x0, y0, side = self._window
        offset = landmarks[:, :2].mean(axis=0) - (x0 + side / 2, y0 + side / 2)
        if np.abs(offset).max() > WINDOW_RECENTRE_SHARE * side:
            self._window = _window_around(landmarks, shape, side)

    def _follow(self, index: int, faces: list[Landmarks]) -> Landmarks | None:
        """Pick the followed face among this frame's detections (None when it is not there)."""
        if not faces:
            return None
        recent = self._followed is not None and index - self._followed_index <= self.max_gap_frames
        if recent:
            overlaps = [_bbox_iou(self._followed, face) for face in faces]
            best = int(np.argmax(overlaps))
            if overlaps[best] < MIN_FOLLOW_IOU:
                return None
            chosen = faces[best]
        else:
            chosen = max(faces, key=_bbox_area)
        self._followed, self._followed_index = chosen, index
        return chosen

    def _check_search_window(self, index: int) -> None:
        if self._first_found_index is None and (index + 1) / self.fps >= self.search_s:
            self._raise_no_face(self.search_s)

    def _raise_no_face(self, checked_s: float) -> None:
        raise NoFaceError(
            f"no face found in {self.source_name} between 0 s and {checked_s:g} s; "
            "use a video where one face is clearly visible (frontal, lit, not too small)",
            file=self.source_name,
            seconds=round(checked_s, 1),
        )

    def _emit(self, final_before: int) -> list[Result]:
        out: list[Result] = []
        while self._pending and self._pending[0] < final_before:
            index = self._pending.popleft()
            out.append((index, self._final_landmarks(index)))
        self._forget_before(final_before - self.lookahead_frames - SMOOTH_RADIUS_FRAMES)
        return out

    def _final_landmarks(self, index: int) -> Landmarks | None:
        """The centred weighted mean; near an end or a gap the window shrinks evenly (no lag)."""
        centre = self._filled(index)
        if centre is None:
            return None
        taps = [(SMOOTH_WEIGHTS[SMOOTH_RADIUS_FRAMES], centre)]
        for radius in range(1, SMOOTH_RADIUS_FRAMES + 1):
            before, after = self._filled(index - radius), self._filled(index + radius)
            if before is None or after is None:
                break
            weight = SMOOTH_WEIGHTS[SMOOTH_RADIUS_FRAMES + radius]
            taps += [(weight, before), (weight, after)]
        total = sum(weight for weight, _ in taps)
        return (sum(weight * points for weight, points in taps) / total).astype(np.float32)

    def _filled(self, index: int) -> Landmarks | None:
        """The raw detection at `index`, or one filled in across a short gap."""
        if index in self._raw:
            return self._raw[index]
        if index in self._skipped and index - 1 in self._raw:
            following = self._raw.get(index + 1)
            if following is not None:
                return 0.5 * (self._raw[index - 1] + following)
            return self._extrapolated(index)  # the last frame, or the face left after it

        if index < 0 or index > self._last_index:
            return None
        before = [i for i in self._raw if i < index]
        after = [i for i in self._raw if i > index]
        prev, nxt = (max(before) if before else None), (min(after) if after else None)
        if prev is not None and nxt is not None:
            if nxt - prev - 1 > self.max_gap_frames:
                return None
            t = (index - prev) / (nxt - prev)
            return (1.0 - t) * self._raw[prev] + t * self._raw[nxt]
        if nxt is not None and nxt == self._first_found_index and nxt <= self.max_gap_frames:
            return self._raw[nxt]
        if prev is not None and self._flushing and self._last_index - prev <= self.max_gap_frames:
            return self._raw[prev]
        return None

    def _extrapolated(self, index: int) -> Landmarks:
        """One frame on from the last detection, at the pace of the two last ones."""
        last = self._raw[index - 1]
        earlier = [i for i in self._raw if i < index - 1]
        if not earlier:
            return last
        before = max(earlier)
        return last + (last - self._raw[before]) / (index - 1 - before)

    def _forget_before(self, index: int) -> None:
        for old in [i for i in self._raw if i < index]:
            del self._raw[old]
        self._skipped = {i for i in self._skipped if i >= index}


def _run_mesh(mesh, frame: np.ndarray, window: Window | None) -> list[Landmarks]:
    """Landmarks (frame pixels) of the human faces MediaPipe finds in `frame` or its `window`."""
    x0, y0 = (0, 0) if window is None else window[:2]
    image = frame if window is None else frame[y0 : y0 + window[2], x0 : x0 + window[2]]
    height, width = image.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE_PX / max(height, width))
    if scale < 1.0:
        size = (round(width * scale), round(height * scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    results = mesh.process(np.ascontiguousarray(image))
    to_pixels = np.array([width, height, width], np.float32)
    shift = np.array([x0, y0, 0], np.float32)
    faces = []
    for face in results.multi_face_landmarks or ():
        points = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32)
        points = points[:LANDMARK_COUNT] * to_pixels + shift
        if has_human_layout(points):
            faces.append(points)
    return faces


def face_detector_score(detector, frame: np.ndarray, landmarks: Landmarks) -> float:
    """BlazeFace's best score for a face centred in an upright square cut CONFIRM_CROP_FACES face
    sizes wide around `landmarks` (rolled so the eyes are level); 0.0 when it finds none there."""
    right_eye = landmarks[list(RIGHT_EYE), :2].mean(axis=0)
    left_eye = landmarks[list(LEFT_EYE), :2].mean(axis=0)
    roll_deg = float(np.degrees(np.arctan2(*(left_eye - right_eye)[::-1])))
    centre = landmarks[:, :2].mean(axis=0)
    side = CONFIRM_CROP_FACES * float(np.ptp(landmarks[:, :2], axis=0).max())
    scale = CONFIRM_CROP_PX / max(side, 1.0)
    # the square's part of the frame (any roll stays inside), shrunk by area first: warpAffine
    # samples bilinearly and would alias a big face
    reach = 0.75 * side
    rows, cols = frame.shape[:2]
    x0, y0 = (int(max(c - reach, 0)) for c in centre)
    x1, y1 = int(min(centre[0] + reach, cols)), int(min(centre[1] + reach, rows))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return 0.0
    region, at = frame[y0:y1, x0:x1], centre - (x0, y0)
    if scale < 1.0:
        size = (max(round((x1 - x0) * scale), 1), max(round((y1 - y0) * scale), 1))
        region, at, scale = cv2.resize(region, size, interpolation=cv2.INTER_AREA), at * scale, 1.0
    warp = cv2.getRotationMatrix2D((float(at[0]), float(at[1])), roll_deg, scale)
    warp[:, 2] += CONFIRM_CROP_PX / 2 - at
    cut = cv2.warpAffine(
        region, warp, (CONFIRM_CROP_PX, CONFIRM_CROP_PX), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    best = 0.0
    for detection in detector.process(cut).detections or ():
        box = detection.location_data.relative_bounding_box
        off_centre = max(abs(box.xmin + box.width / 2 - 0.5), abs(box.ymin + box.height / 2 - 0.5))
        if off_centre < 0.25:
            best = max(best, float(detection.score[0]))
    return best


def _tracking_window(points: Landmarks, shape: tuple[int, ...]) -> Window | None:
    """A square about the face, TRACK_WINDOW_FACES face sizes wide: MediaPipe then reads a
    small part of the frame (less to copy and scale); None when that is the whole frame."""
    x0, y0, x1, y1 = _bbox(points)
    side = max(TRACK_WINDOW_MIN_PX, round(TRACK_WINDOW_FACES * max(x1 - x0, y1 - y0)))
    if side >= min(shape[:2]):
        return None
    return _window_around(points, shape, side)


MIN_SEARCH_WINDOW_PX = 32  # smaller windows hold no face MediaPipe can find


def _search_windows(shape: tuple[int, ...]) -> list[list[Window]]:
    """Levels of square windows overlapping by half: the short side, then half of it, ..."""
    height, width = shape[:2]
    levels = []
    for level in range(WINDOW_LEVELS):
        side = min(height, width) // (2**level)
        if side < MIN_SEARCH_WINDOW_PX or (level == 0 and max(height, width) == side):
            continue  # too small to hold a face, or the frame itself (already searched)
        xs, ys = _starts(width, side), _starts(height, side)
        levels.append([(x0, y0, side) for y0 in ys for x0 in xs])
    return levels


def _starts(length: int, side: int) -> list[int]:
    """Where windows of `side` start along `length`, overlapping by half; [0] if one fits all."""
    if side <= 0 or side >= length:
        return [0]
    count = int(np.ceil((length - side) / (side / 2))) + 1
    return [int(start) for start in np.linspace(0, length - side, count).round()]


def _window_around(points: Landmarks, shape: tuple[int, ...], side: int) -> Window:
    height, width = shape[:2]
    centre_x, centre_y = points[:, :2].mean(axis=0)
    x0 = int(np.clip(round(centre_x - side / 2), 0, width - side))
    y0 = int(np.clip(round(centre_y - side / 2), 0, height - side))
    return x0, y0, side


def _bbox(points: Landmarks) -> tuple[float, float, float, float]:
    return (
        float(points[:, 0].min()),
        float(points[:, 1].min()),
        float(points[:, 0].max()),
        float(points[:, 1].max()),
    )


def _bbox_area(points: Landmarks) -> float:
    x0, y0, x1, y1 = _bbox(points)
    return (x1 - x0) * (y1 - y0)


def _bbox_iou(a: Landmarks, b: Landmarks) -> float:
    ax0, ay0, ax1, ay1 = _bbox(a)
    bx0, by0, bx1, by1 = _bbox(b)
    inter = max(0.0, min(ax1, bx1) - max(ax0, bx0)) * max(0.0, min(ay1, by1) - max(ay0, by0))
    union = _bbox_area(a) + _bbox_area(b) - inter
    return inter / union if union > 0 else 0.0
