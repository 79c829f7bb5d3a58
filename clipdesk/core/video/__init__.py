"""Videos as the scenes they contain: sampled frames cut into scenes, one vector each.

``scenes`` cuts a stream of small frame signatures into scenes (pure, no decoding);
``reader`` decodes a video with PyAV in a decode worker and returns one frame per scene;
``limits`` scales a worker's time limit to the video.
"""
