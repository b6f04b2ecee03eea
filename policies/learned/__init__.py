"""The learned detector beside the rules: a linear classifier over word and character n-grams that scores
each content category, trained by the project on its labelled corpus (``corpus/``) and shipped inside the
package as one file, so nothing is downloaded at run time.

``features`` turns text into n-grams (the same code for training and for deciding), ``model`` loads the
shipped file and scores a message (and says which words raised a score), ``training`` builds the file
from the corpus (scikit-learn, needed only to train). The rules that turn scores into findings are in
``policies/rules/learned.py``.
"""
