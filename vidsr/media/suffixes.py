"""The file name endings vidsr takes for each kind of media, lower case (compare with
``path.suffix.lower()``); the one place they are defined."""

VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".mpg", ".mpeg", ".webm", ".m4v")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
SOUND_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus")
