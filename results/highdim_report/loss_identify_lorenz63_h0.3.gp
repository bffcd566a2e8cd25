set encoding utf8
set datafile missing '?'
set terminal svg size 720,540 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'loss_identify_lorenz63_h0.3.svg.tmp'
set title "Training loss per phase, identify lorenz63 h = 0.3" noenhanced
set xlabel 'iteration (phases one after the other)'
set ylabel 'loss (mean squared error)'
set logscale y
set format y '10^{%L}'
set grid lc rgb '#dddddd'
set key below noenhanced
plot 'loss_identify_lorenz63_h0.3.dat' index 0 with lines lw 2 dt 1 lc 1 title 'rk4 main (bilinear)', \
     'loss_identify_lorenz63_h0.3.dat' index 1 with lines lw 2 dt 3 lc 1 title 'rk4 L-BFGS (bilinear)', \
     'loss_identify_lorenz63_h0.3.dat' index 2 with lines lw 2 dt 2 lc 2 title 'dopri8 continuation (bilinear)', \
     'loss_identify_lorenz63_h0.3.dat' index 3 with lines lw 2 dt 1 lc 2 title 'dopri8 main (bilinear)', \
     'loss_identify_lorenz63_h0.3.dat' index 4 with lines lw 2 dt 3 lc 2 title 'dopri8 L-BFGS (bilinear)', \
     'loss_identify_lorenz63_h0.3.dat' index 5 with lines lw 2 dt 2 lc 3 title 'trk10 continuation (bilinear)', \
     'loss_identify_lorenz63_h0.3.dat' index 6 with lines lw 2 dt 1 lc 3 title 'trk10 main (bilinear)', \
     'loss_identify_lorenz63_h0.3.dat' index 7 with lines lw 2 dt 3 lc 3 title 'trk10 L-BFGS (bilinear)', \
     'loss_identify_lorenz63_h0.3.dat' index 8 with lines lw 2 dt 4 lc 3 title 'trk10 Levenberg-Marquardt (bilinear)'
