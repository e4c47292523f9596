"""Where the code is and what is sent: the main file, the files selected for a push,
the model directory, pinned requirements."""
