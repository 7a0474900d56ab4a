"""Qt widgets of the app: a scaled image view, the screen mini-map, the transparent gaze overlay window."""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QPointF, QRectF, Qt
from PyQt5.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen
from PyQt5.QtWidgets import QApplication, QSizePolicy, QWidget

from ..live.engine import ScreenView

__all__ = ["to_qimage", "ImageView", "MiniMap", "GazeOverlay"]


def to_qimage(bgr: np.ndarray) -> QImage:
    """``(H, W, 3)`` uint8 BGR → a QImage that owns its pixels (safe after ``bgr`` is freed)."""
    a = np.ascontiguousarray(bgr)
    if a.ndim != 3 or a.shape[2] != 3 or a.dtype != np.uint8:
        from ..errors import ShapeError

        raise ShapeError("image", "(H, W, 3) uint8 BGR", a.shape)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, 3 * w, QImage.Format_BGR888).copy()


class ImageView(QWidget):
    """Shows a picture scaled to fit (aspect kept, centred), or a message when there is none / something is wrong."""

    def __init__(self, placeholder: str = "", parent=None, min_size=(160, 90)):
        super().__init__(parent)
        self._image: QImage | None = None
        self._message, self._message_color = placeholder, QColor(200, 200, 200)
        self.setMinimumSize(*min_size)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAttribute(Qt.WA_OpaquePaintEvent)

    def set_image(self, bgr: np.ndarray | None) -> None:
        self._image = None if bgr is None else to_qimage(bgr)
        self.update()

    def set_message(self, text: str, color: QColor | None = None) -> None:
        """A banner over the picture (empty text removes it)."""
        self._message = text
        self._message_color = color or QColor(200, 200, 200)
        self.update()

    @property
    def message(self) -> str:
        return self._message

    @property
    def has_image(self) -> bool:
        return self._image is not None

    def image_rect(self) -> QRectF:
        """Where the picture is drawn in widget coordinates."""
        if self._image is None:
            return QRectF()
        iw, ih = self._image.width(), self._image.height()
        s = min(self.width() / iw, self.height() / ih)
        w, h = iw * s, ih * s
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event):  # noqa: N802 - Qt API
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(24, 24, 24))
        if self._image is not None:
            p.setRenderHint(QPainter.SmoothPixmapTransform)
            p.drawImage(self.image_rect(), self._image)
        if self._message:
            p.setRenderHint(QPainter.Antialiasing)
            f = QFont(self.font())
            f.setPointSizeF(max(9.0, f.pointSizeF() * 1.1))
            p.setFont(f)
            r = self.rect().adjusted(12, 12, -12, -12)
            flags = int(Qt.AlignCenter | Qt.TextWordWrap)
            box = p.boundingRect(r, flags, self._message).adjusted(-10, -6, 10, 6)
            if self._image is not None:  # a banner at the bottom so the picture stays visible
                box.moveBottom(self.rect().bottom() - 12)
            p.fillRect(box, QColor(0, 0, 0, 190))
            p.setPen(self._message_color)
            p.drawText(box, flags, self._message)
        p.end()


class MiniMap(QWidget):
    """A screen-shaped map with the gaze point: filled while tracking, hollow while held (blink)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.point: ScreenView | None = None
        self.screen_size = (1920, 1080)
        self.note = "no profile: calibrate or choose one"
        self.setMinimumSize(160, 100)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)

    def set_point(self, point: ScreenView | None) -> None:
        self.point = point
        if point is not None:
            self.screen_size = point.screen_size
        self.update()

    def set_note(self, text: str) -> None:
        self.note = text
        self.update()

    def heightForWidth(self, w: int) -> int:  # noqa: N802
        return int(w * self.screen_size[1] / self.screen_size[0])

    def screen_rect(self) -> QRectF:
        W, H = self.screen_size
        s = min((self.width() - 8) / W, (self.height() - 8) / H)
        return QRectF((self.width() - W * s) / 2, (self.height() - H * s) / 2, W * s, H * s)

    def paintEvent(self, event):  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        r = self.screen_rect()
        p.fillRect(r, QColor(40, 44, 52))
        p.setPen(QPen(QColor(150, 150, 150), 1))
        p.drawRect(r)
        if self.point is None:
            p.setPen(QColor(170, 170, 170))
            p.drawText(r, int(Qt.AlignCenter | Qt.TextWordWrap), self.note)
        else:
            W, H = self.screen_size
            x = r.left() + np.clip(self.point.x_px, 0, W) / W * r.width()
            y = r.top() + np.clip(self.point.y_px, 0, H) / H * r.height()
            c = QColor(255, 170, 0) if self.point.held else QColor(0, 230, 255)
            p.setPen(QPen(c, 2))
            p.setBrush(Qt.NoBrush if self.point.held else QBrush(c))
            p.drawEllipse(QPointF(x, y), 6, 6)
            if self.point.held:
                p.drawText(r.adjusted(4, 2, -4, -2), int(Qt.AlignLeft | Qt.AlignTop), "held (blink)")
        p.end()


class GazeOverlay(QWidget):
    """A transparent, always-on-top, click-through window over the whole screen that draws the gaze point."""

    def __init__(self):
        super().__init__(None, Qt.FramelessWindowHint | Qt.WindowStaysOnTopHint | Qt.Tool | Qt.WindowTransparentForInput)
        self.setAttribute(Qt.WA_TranslucentBackground)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WA_ShowWithoutActivating)
        self.point: ScreenView | None = None
        screen = QApplication.primaryScreen()
        if screen is not None:
            self.setGeometry(screen.geometry())

    def set_point(self, point: ScreenView | None) -> None:
        self.point = point
        if self.isVisible():
            self.update()

    def paintEvent(self, event):  # noqa: N802
        if self.point is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        W, H = self.point.screen_size
        x = self.point.x_px / W * self.width()
        y = self.point.y_px / H * self.height()
        c = QColor(255, 170, 0, 200) if self.point.held else QColor(0, 230, 255, 200)
        p.setPen(QPen(c, 3))
        p.setBrush(Qt.NoBrush)
        p.drawEllipse(QPointF(x, y), 22, 22)
        p.drawEllipse(QPointF(x, y), 3, 3)
        p.end()
