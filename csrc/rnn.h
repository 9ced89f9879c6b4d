/*
** rnn.h: what the recurrent layers' two files share: rnn.c (the
** descriptors: options, tensors, saving, printing) and rnn_run.c (a
** run: forward, backward and the state's methods).  Private to them.
*/
#ifndef NN_RNN_H
#define NN_RNN_H

#include "module.h"

typedef struct RNNSet {
  int D, H, L, dirs;          /* input size, hidden size, layers, 1 or 2 */
  int cell;                   /* K_RNN_TANH, K_RNN_RELU, K_LSTM, K_GRU */
  int bias;
  int last;                   /* the output is the top layer's final states */
  float dropout;              /* between layers, in training */
  /* not configuration: the state of a run */
  int carry;                  /* this forward is a step: from the current state */
  int hasinit;                /* setState gave an initial state */
  int hascur;                 /* there is a current state (state()) */
  int fwdT, fwdn, fwddrop;    /* the last forward's shape, 0 if none */
  int hasgrad;                /* backward left dL/dh0 (gradState()) */
} RNNSet;

#define RS(m) NN_SET(m, RNNSet)
#define CRS(m) NN_CSET(m, RNNSet)

static inline int isLSTM(const RNNSet *s) { return s->cell == K_LSTM; }

/* tensors per layer and direction: w_ih, w_hh [, b_ih, b_hh] */
static inline int pertensor(const RNNSet *s) { return s->bias ? 4 : 2; }

/* rnn_run.c: the descriptors' forward, backward and methods */
void nn_rnn_forward(Ctx *c);
void nn_rnn_backward(Ctx *c);
extern const luaL_Reg nn_rnn_methods[];

#endif
