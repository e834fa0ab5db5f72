"""Text analysis: subtitle parsing (SRT, WebVTT) and dialogue metrics."""
